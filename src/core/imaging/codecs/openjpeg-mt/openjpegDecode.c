/*
 * PointBox: a minimal C API over OpenJPEG for the multithreaded WebAssembly build (no embind).
 * Built by scripts/build-openjpeg-mt.sh; loaded by openjpegMt.ts.
 *
 * One decode is a "job" (a block of WASM memory the JavaScript side reads at fixed offsets, see the
 * JOB_* constants in openjpegMt.ts). JavaScript allocates a job with the encoded bytes, then either
 *   - pbj2k_start(job): decodes on a fresh detached pthread and returns at once; when done the thread
 *     stores 1 into job->state and notifies it (memory.atomic.notify), which resolves the JavaScript
 *     side's Atomics.waitAsync. The JavaScript thread never blocks, so a pthread that traps cannot hang
 *     it (the loader sees the worker's 'error' event instead);
 *   - pbj2k_decode(job): decodes on the calling thread (blocking; used for comparisons).
 * OpenJPEG itself runs its code-block (T1) and wavelet stages on job->threads pool threads
 * (opj_codec_set_threads); 0 decodes on the job's own thread.
 *
 * Output matches @cornerstonejs/codec-openjpeg's J2KDecoder for the images it handles correctly:
 * one component -> uint8 (precision <= 8, clamped to 0..255), int16 (signed) or uint16 (clamped);
 * three components -> pixel-interleaved samples of the same types. Anything that decoder treats specially
 * (subsampled or sYCC/CMYK/e-YCC colour, an image offset, 2 or 4+ components, precision > 16, signed
 * samples of 8 bits or fewer) reports PB_UNSUPPORTED so the caller falls back to that decoder.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <pthread.h>
#include <emscripten.h>
#include <emscripten/threading.h>
#include "openjpeg.h"

enum { PB_RUNNING = 0, PB_DONE = 1 };
enum { PB_OK = 0, PB_ERROR = 1, PB_UNSUPPORTED = 2 };
#define PB_MSG_LEN 512

/* Every field is 32-bit so JavaScript reads them as HEAP32[(job >> 2) + index]. */
typedef struct pb_job {
  int32_t state;          /*  0: PB_RUNNING / PB_DONE (futex word for Atomics.waitAsync) */
  int32_t status;         /*  1: PB_OK / PB_ERROR / PB_UNSUPPORTED */
  uint8_t *in;            /*  2 */
  uint32_t in_len;        /*  3 */
  int32_t threads;        /*  4: OpenJPEG pool threads (0 = decode on the job thread) */
  uint8_t *out;           /*  5 */
  uint32_t out_len;       /*  6 */
  int32_t width;          /*  7 */
  int32_t height;         /*  8 */
  int32_t comps;          /*  9 */
  int32_t prec;           /* 10 */
  int32_t sgnd;           /* 11 */
  int32_t bytes_per_sample; /* 12 */
  int32_t msg_len;        /* 13 */
  char msg[PB_MSG_LEN];   /* 14.. */
} pb_job;

_Static_assert(sizeof(void *) == 4, "wasm32");
_Static_assert(offsetof(pb_job, msg) == 14 * 4, "job layout is shared with openjpegMt.ts");

static void pb_append_msg(pb_job *job, const char *msg) {
  if (!msg) return;
  size_t n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' ')) n--;
  if (n == 0) return;
  size_t used = (size_t)job->msg_len;
  if (used > 0 && used + 2 < PB_MSG_LEN) { job->msg[used++] = ';'; job->msg[used++] = ' '; }
  size_t room = PB_MSG_LEN - 1 - used;
  if (n > room) n = room;
  memcpy(job->msg + used, msg, n);
  used += n;
  job->msg[used] = 0;
  job->msg_len = (int32_t)used;
}

static void pb_set_msg(pb_job *job, const char *msg) {
  job->msg_len = 0;
  job->msg[0] = 0;
  pb_append_msg(job, msg);
}

static void pb_error_cb(const char *msg, void *client) { pb_append_msg((pb_job *)client, msg); }
static void pb_quiet_cb(const char *msg, void *client) { (void)msg; (void)client; }

/* opj_stream over the job's input buffer. */
typedef struct { const uint8_t *data; OPJ_SIZE_T len, pos; } pb_mem;

static OPJ_SIZE_T pb_read(void *buf, OPJ_SIZE_T n, void *user) {
  pb_mem *m = (pb_mem *)user;
  if (m->pos >= m->len) return (OPJ_SIZE_T)-1; /* end of stream */
  OPJ_SIZE_T left = m->len - m->pos;
  if (n > left) n = left;
  memcpy(buf, m->data + m->pos, n);
  m->pos += n;
  return n;
}
/* Skip and seek behave as cornerstone's BufferStream.hpp, so both decoders see the same stream. */
static OPJ_OFF_T pb_skip(OPJ_OFF_T n, void *user) {
  pb_mem *m = (pb_mem *)user;
  if (n < 0) return (OPJ_OFF_T)-1;
  OPJ_SIZE_T left = m->len - m->pos;
  if (left == 0) return (OPJ_OFF_T)-1;
  if ((OPJ_UINT64)n < (OPJ_UINT64)left) left = (OPJ_SIZE_T)n;
  m->pos += left;
  return (OPJ_OFF_T)left;
}
static OPJ_BOOL pb_seek(OPJ_OFF_T n, void *user) {
  pb_mem *m = (pb_mem *)user;
  if (n < 0) return OPJ_FALSE;
  m->pos = (OPJ_UINT64)n > (OPJ_UINT64)m->len ? m->len : (OPJ_SIZE_T)n;
  return OPJ_TRUE;
}

static int pb_clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Copies OpenJPEG's int32 planes into job->out; returns PB_OK / PB_ERROR / PB_UNSUPPORTED. */
static int pb_convert(pb_job *job, const opj_image_t *img) {
  const OPJ_UINT32 nc = img->numcomps;
  if (nc != 1 && nc != 3) { pb_set_msg(job, "unsupported component count"); return PB_UNSUPPORTED; }
  if (img->x0 != 0 || img->y0 != 0) { pb_set_msg(job, "image offset"); return PB_UNSUPPORTED; }
  if (img->color_space == OPJ_CLRSPC_SYCC || img->color_space == OPJ_CLRSPC_CMYK || img->color_space == OPJ_CLRSPC_EYCC) {
    pb_set_msg(job, "JP2 colour space needs conversion");
    return PB_UNSUPPORTED;
  }
  const opj_image_comp_t *c0 = &img->comps[0];
  const OPJ_UINT32 w = img->x1, h = img->y1;
  for (OPJ_UINT32 c = 0; c < nc; c++) {
    const opj_image_comp_t *ci = &img->comps[c];
    if (ci->dx != 1 || ci->dy != 1 || ci->w != w || ci->h != h || ci->prec != c0->prec || ci->sgnd != c0->sgnd || ci->factor != 0) {
      pb_set_msg(job, "subsampled or mixed components");
      return PB_UNSUPPORTED;
    }
    if (!ci->data) { pb_set_msg(job, "component was not decoded"); return PB_ERROR; }
  }
  if (c0->prec < 1 || c0->prec > 16) { pb_set_msg(job, "precision outside 1..16"); return PB_UNSUPPORTED; }
  if (c0->prec <= 8 && c0->sgnd) { pb_set_msg(job, "signed samples of 8 bits or fewer"); return PB_UNSUPPORTED; }

  const int bps = c0->prec <= 8 ? 1 : 2;
  const size_t pixels = (size_t)w * h;
  if (w == 0 || h == 0 || pixels > (size_t)INT32_MAX / (nc * bps)) { pb_set_msg(job, "image too large"); return PB_ERROR; }
  const size_t out_len = pixels * nc * bps;
  uint8_t *out = (uint8_t *)malloc(out_len);
  if (!out) { pb_set_msg(job, "out of memory for the decoded image"); return PB_ERROR; }

  if (bps == 1) {
    for (OPJ_UINT32 c = 0; c < nc; c++) {
      const OPJ_INT32 *src = img->comps[c].data;
      uint8_t *dst = out + c;
      for (size_t i = 0; i < pixels; i++) dst[i * nc] = (uint8_t)pb_clamp(src[i], 0, UCHAR_MAX);
    }
  } else if (c0->sgnd) {
    for (OPJ_UINT32 c = 0; c < nc; c++) {
      const OPJ_INT32 *src = img->comps[c].data;
      int16_t *dst = (int16_t *)out + c;
      for (size_t i = 0; i < pixels; i++) dst[i * nc] = (int16_t)pb_clamp(src[i], SHRT_MIN, SHRT_MAX);
    }
  } else {
    for (OPJ_UINT32 c = 0; c < nc; c++) {
      const OPJ_INT32 *src = img->comps[c].data;
      uint16_t *dst = (uint16_t *)out + c;
      for (size_t i = 0; i < pixels; i++) dst[i * nc] = (uint16_t)pb_clamp(src[i], 0, USHRT_MAX);
    }
  }
  job->out = out;
  job->out_len = (uint32_t)out_len;
  job->width = (int32_t)w;
  job->height = (int32_t)h;
  job->comps = (int32_t)nc;
  job->prec = (int32_t)c0->prec;
  job->sgnd = (int32_t)c0->sgnd;
  job->bytes_per_sample = bps;
  return PB_OK;
}

static int pb_run(pb_job *job) {
  static const uint8_t j2k_magic[4] = { 0xff, 0x4f, 0xff, 0x51 };
  if (!job->in || job->in_len < 4) { pb_set_msg(job, "codestream too short"); return PB_ERROR; }
  /* Same choice as cornerstone's J2KDecoder: a raw codestream unless it starts with SOC+SIZ, else JP2. */
  const OPJ_CODEC_FORMAT fmt = memcmp(job->in, j2k_magic, 4) == 0 ? OPJ_CODEC_J2K : OPJ_CODEC_JP2;
  opj_codec_t *codec = opj_create_decompress(fmt);
  if (!codec) { pb_set_msg(job, "opj_create_decompress failed"); return PB_ERROR; }
  opj_set_info_handler(codec, pb_quiet_cb, job);
  opj_set_warning_handler(codec, pb_quiet_cb, job);
  opj_set_error_handler(codec, pb_error_cb, job);

  int status = PB_ERROR;
  opj_image_t *img = NULL;
  opj_stream_t *stream = NULL;
  pb_mem mem = { job->in, job->in_len, 0 };
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  if (!opj_setup_decoder(codec, &params)) { pb_append_msg(job, "opj_setup_decoder failed"); goto done; }
  if (job->threads > 0 && !opj_codec_set_threads(codec, job->threads)) { pb_append_msg(job, "opj_codec_set_threads failed"); goto done; }

  stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
  if (!stream) { pb_append_msg(job, "opj_stream_create failed"); goto done; }
  opj_stream_set_user_data(stream, &mem, NULL);
  opj_stream_set_user_data_length(stream, job->in_len);
  opj_stream_set_read_function(stream, pb_read);
  opj_stream_set_skip_function(stream, pb_skip);
  opj_stream_set_seek_function(stream, pb_seek);

  if (!opj_read_header(stream, codec, &img)) { pb_append_msg(job, "failed to read the header"); goto done; }
  if (!opj_decode(codec, stream, img)) { pb_append_msg(job, "failed to decode"); goto done; }
  /* Errors reported along the way but not fatal to OpenJPEG are not ours to judge: keep only the data. */
  job->msg_len = 0;
  job->msg[0] = 0;
  status = pb_convert(job, img);

done:
  if (stream) opj_stream_destroy(stream);
  opj_destroy_codec(codec); /* joins the OpenJPEG pool threads */
  if (img) opj_image_destroy(img);
  if (status != PB_OK && job->msg_len == 0) pb_set_msg(job, "decode failed");
  return status;
}

EMSCRIPTEN_KEEPALIVE pb_job *pbj2k_job_new(uint32_t in_len) {
  pb_job *job = (pb_job *)calloc(1, sizeof(pb_job));
  if (!job) return NULL;
  job->in = (uint8_t *)malloc(in_len ? in_len : 1);
  if (!job->in) { free(job); return NULL; }
  job->in_len = in_len;
  return job;
}

EMSCRIPTEN_KEEPALIVE void pbj2k_job_free(pb_job *job) {
  if (!job) return;
  free(job->in);
  free(job->out);
  free(job);
}

static void pb_finish(pb_job *job, int status) {
  job->status = status;
  __c11_atomic_store((_Atomic int32_t *)&job->state, PB_DONE, __ATOMIC_SEQ_CST);
  emscripten_futex_wake(&job->state, INT_MAX);
}

EMSCRIPTEN_KEEPALIVE int pbj2k_decode(pb_job *job, int32_t threads) {
  job->threads = threads;
  pb_finish(job, pb_run(job));
  return job->status;
}

static void *pb_thread_main(void *arg) {
  pb_job *job = (pb_job *)arg;
  pb_finish(job, pb_run(job));
  return NULL;
}

/* Returns 0 when the decode thread was started (watch job->state), else an errno from pthread_create. */
EMSCRIPTEN_KEEPALIVE int pbj2k_start(pb_job *job, int32_t threads) {
  job->threads = threads;
  job->state = PB_RUNNING;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int rc = pthread_create(&t, &attr, pb_thread_main, job);
  pthread_attr_destroy(&attr);
  return rc;
}

static void *pb_crash_main(void *arg) {
  (void)arg;
  __builtin_trap();
  return NULL;
}

/* Test hook: starts a thread that traps, as a corrupt stream crashing OpenJPEG would. The loader must turn
 * that into a typed error for the pending decode, not a hang or a dead process. */
EMSCRIPTEN_KEEPALIVE int pbj2k_start_crash_test(pb_job *job) {
  job->state = PB_RUNNING;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  int rc = pthread_create(&t, &attr, pb_crash_main, job);
  pthread_attr_destroy(&attr);
  return rc;
}

EMSCRIPTEN_KEEPALIVE const char *pbj2k_version(void) { return opj_version(); }
