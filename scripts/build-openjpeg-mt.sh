#!/usr/bin/env bash
# Builds the multithreaded (pthreads + SIMD) WebAssembly OpenJPEG decoder used for JPEG 2000 on the Node
# side (src/core/imaging/codecs/openjpeg-mt/openjpegMt.ts). The outputs are COMMITTED under
# src/core/imaging/codecs/openjpeg-mt/prebuilt/; CI and `npm run build` use them as they are and never run
# Emscripten. Rerun this only to change the C wrapper, the flags or the OpenJPEG version.
#
# Toolchain used for the committed build:
#   emcc 3.1.6 (Debian bookworm package `emscripten` 3.1.6~dfsg-5, clang 14). Debian's emcc runs its JS
#   optimizer with the system node, which needs NODE_PATH=/usr/share/nodejs to find node-acorn.
#   OpenJPEG 2.5.0 as patched by Debian (source package openjpeg2 2.5.0-2+deb12u3, the same code as the
#   libopenjp2-7 that pydicom+GDCM uses here):
#     echo 'Types: deb-src
#     URIs: http://deb.debian.org/debian
#     Suites: bookworm
#     Components: main
#     Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' > /etc/apt/sources.list.d/tmp-src.sources
#     apt-get update && (cd /tmp && apt-get source openjpeg2)   # -> /tmp/openjpeg2-2.5.0 (patches applied)
#
# Usage: OPENJPEG_SRC=/tmp/openjpeg2-2.5.0 scripts/build-openjpeg-mt.sh
#   SIMD_FLAGS   default "-msimd128 -msse2": OpenJPEG's SSE/SSE2 paths (wavelet, MCT, T1 copy) compiled
#                through Emscripten's SSE->WASM SIMD headers; "-msimd128" alone (autovectorised scalar code)
#                and "" measured slower, see openjpeg-mt/README.md.
#   OUT          default src/core/imaging/codecs/openjpeg-mt/prebuilt
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="${OPENJPEG_SRC:-/tmp/openjpeg2-2.5.0}"
out="${OUT:-$root/src/core/imaging/codecs/openjpeg-mt/prebuilt}"
simd="${SIMD_FLAGS--msimd128 -msse2}"
lib="$src/src/lib/openjp2"
[ -f "$lib/openjpeg.h" ] || { echo "OpenJPEG source not found at $src (set OPENJPEG_SRC; see the header of this script)" >&2; exit 1; }
command -v emcc >/dev/null || { echo "emcc not found (apt-get install emscripten)" >&2; exit 1; }
export NODE_PATH="${NODE_PATH:-/usr/share/nodejs}"

ver_major=$(sed -n 's/^set(OPENJPEG_VERSION_MAJOR \([0-9]*\)).*/\1/p' "$src/CMakeLists.txt")
ver_minor=$(sed -n 's/^set(OPENJPEG_VERSION_MINOR \([0-9]*\)).*/\1/p' "$src/CMakeLists.txt")
ver_build=$(sed -n 's/^set(OPENJPEG_VERSION_BUILD \([0-9]*\)).*/\1/p' "$src/CMakeLists.txt")
version="$ver_major.$ver_minor.$ver_build"

build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
# What OpenJPEG's CMake would generate for a little-endian 32-bit target with posix_memalign.
cat > "$build/opj_config.h" <<EOF
#define OPJ_HAVE_STDINT_H 1
#define OPJ_VERSION_MAJOR $ver_major
#define OPJ_VERSION_MINOR $ver_minor
#define OPJ_VERSION_BUILD $ver_build
EOF
cat > "$build/opj_config_private.h" <<EOF
#define OPJ_HAVE_INTTYPES_H 1
#define OPJ_PACKAGE_VERSION "$version"
#define OPJ_HAVE_FSEEKO 1
#define OPJ_HAVE_POSIX_MEMALIGN 1
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200112L
#endif
EOF

# The library sources of OpenJPEG's src/lib/openjp2/CMakeLists.txt (no JPIP).
files="thread bio cio dwt event ht_dec image invert j2k jp2 mct mqc openjpeg opj_clock pi t1 t2 tcd tgt function_list opj_malloc sparse_array"
cflags="-O3 -DNDEBUG -pthread $simd -DMUTEX_pthread -DOPJ_STATIC -I$build -I$lib -w"
objs=()
for f in $files; do
  emcc $cflags -c "$lib/$f.c" -o "$build/$f.o" &
  objs+=("$build/$f.o")
done
wait
emcc $cflags -Wall -Wextra -c "$root/src/core/imaging/codecs/openjpeg-mt/openjpegDecode.c" -o "$build/openjpegDecode.o"

mkdir -p "$out"
rm -f "$out"/openjpeg-mt.*
# PTHREAD_POOL_SIZE is read at run time from the factory argument (the loader passes OpenJPEG's thread
# count + 2: the decode thread and a spare), so the workers are spawned once, at load, not per decode.
# ENVIRONMENT=node,worker: Node main thread / worker_threads; the pthreads run in worker_threads too.
ldflags=(-sMODULARIZE=1 -sEXPORT_NAME=createOpenJpegMt -sENVIRONMENT=node,worker
  '-sPTHREAD_POOL_SIZE=Module["pbPoolSize"]||3' -sPTHREAD_POOL_SIZE_STRICT=0
  -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=64MB -sMAXIMUM_MEMORY=2GB
  -sINVOKE_RUN=0 -sFILESYSTEM=0 -sEXIT_RUNTIME=0 -sASSERTIONS=0 -sNODEJS_CATCH_EXIT=0 -sNODEJS_CATCH_REJECTION=0
  -sEXPORTED_FUNCTIONS=_pbj2k_job_new,_pbj2k_job_free,_pbj2k_decode,_pbj2k_start,_pbj2k_start_crash_test,_pbj2k_version
  -sEXPORTED_RUNTIME_METHODS=[])
emcc $cflags "${objs[@]}" "$build/openjpegDecode.o" -o "$out/openjpeg-mt.js" "${ldflags[@]}" \
  2> >(grep -v 'USE_PTHREADS + ALLOW_MEMORY_GROWTH may run non-wasm code slowly' >&2)
# The glue must not leave a global `Worker` behind in the thread that loads it (the CLI, a DecodePool
# worker, possibly the extension host): make it a variable of the factory's scope instead.
glue="$out/openjpeg-mt.js"
grep -q 'global.Worker=nodeWorkerThreads.Worker' "$glue" || { echo "glue patch point not found (emcc version changed?)" >&2; exit 1; }
sed -i 's/global.Worker=nodeWorkerThreads.Worker/var Worker=nodeWorkerThreads.Worker/' "$glue"
# The pthread workers run plain JS and WASM: they must not inherit the parent's --import/--require loaders
# (tsx under the unit tests would load into every one of them).
grep -q 'new Worker(pthreadMainJs)' "$glue" || { echo "glue patch point not found (emcc version changed?)" >&2; exit 1; }
sed -i 's/new Worker(pthreadMainJs)/new Worker(pthreadMainJs,{execArgv:[]})/' "$glue"
sed -i "1i // Generated by scripts/build-openjpeg-mt.sh (Emscripten $(emcc -dumpversion), OpenJPEG $version): do not edit." "$glue"
chmod 644 "$out/openjpeg-mt.wasm"
cp "$src/LICENSE" "$out/LICENSE.openjpeg"
cat > "$out/BUILD-INFO.txt" <<EOF
openjpeg-mt: OpenJPEG $version (Debian openjpeg2 $(sed -n '1s/.*(\(.*\)).*/\1/p' "$src/debian/changelog" 2>/dev/null || echo '?') source)
emcc: $(emcc --version | head -1)
compile: $(echo "$cflags" | sed "s#$build#<generated opj_config>#; s#$lib#<openjpeg>/src/lib/openjp2#")
link: ${ldflags[*]}
glue patches: global.Worker -> a variable of the factory scope; pthread workers start with execArgv []
built by scripts/build-openjpeg-mt.sh
EOF
ls -l "$out"
