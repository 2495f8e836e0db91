/**
 * The transfer syntaxes PointBox knows, with the codec family each needs. Unknown or codec-less syntaxes
 * are reported by name so the user learns *which* syntax is missing, not just "unsupported".
 */
export type CodecKind =
  | 'native' | 'deflate' | 'rle' | 'jpeg-baseline' | 'jpeg-extended' | 'jpeg-lossless' | 'jpeg-ls' | 'jpeg2000'
  | 'htj2k' | 'video' | 'unsupported';

export interface TransferSyntaxInfo {
  uid: string;
  name: string;
  codec: CodecKind;
  littleEndian: boolean;
  explicitVR: boolean;
  lossy: boolean;
}

const table: TransferSyntaxInfo[] = [
  { uid: '1.2.840.10008.1.2', name: 'Implicit VR Little Endian', codec: 'native', littleEndian: true, explicitVR: false, lossy: false },
  { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian', codec: 'native', littleEndian: true, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.1.99', name: 'Deflated Explicit VR Little Endian', codec: 'deflate', littleEndian: true, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.2', name: 'Explicit VR Big Endian', codec: 'native', littleEndian: false, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.5', name: 'RLE Lossless', codec: 'rle', littleEndian: true, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.50', name: 'JPEG Baseline (Process 1)', codec: 'jpeg-baseline', littleEndian: true, explicitVR: true, lossy: true },
  { uid: '1.2.840.10008.1.2.4.51', name: 'JPEG Extended (Process 2 & 4)', codec: 'jpeg-extended', littleEndian: true, explicitVR: true, lossy: true },
  { uid: '1.2.840.10008.1.2.4.57', name: 'JPEG Lossless, Non-Hierarchical (Process 14)', codec: 'jpeg-lossless', littleEndian: true, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.70', name: 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])', codec: 'jpeg-lossless', littleEndian: true, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.80', name: 'JPEG-LS Lossless', codec: 'jpeg-ls', littleEndian: true, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.81', name: 'JPEG-LS Near-Lossless', codec: 'jpeg-ls', littleEndian: true, explicitVR: true, lossy: true },
  { uid: '1.2.840.10008.1.2.4.90', name: 'JPEG 2000 Lossless', codec: 'jpeg2000', littleEndian: true, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.91', name: 'JPEG 2000', codec: 'jpeg2000', littleEndian: true, explicitVR: true, lossy: true },
  { uid: '1.2.840.10008.1.2.4.201', name: 'High-Throughput JPEG 2000 Lossless', codec: 'htj2k', littleEndian: true, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.202', name: 'High-Throughput JPEG 2000 with RPCL Options Lossless', codec: 'htj2k', littleEndian: true, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.203', name: 'High-Throughput JPEG 2000', codec: 'htj2k', littleEndian: true, explicitVR: true, lossy: true },
  { uid: '1.2.840.10008.1.2.4.100', name: 'MPEG2 Main Profile / Main Level', codec: 'video', littleEndian: true, explicitVR: true, lossy: true },
  { uid: '1.2.840.10008.1.2.4.102', name: 'MPEG-4 AVC/H.264 High Profile / Level 4.1', codec: 'video', littleEndian: true, explicitVR: true, lossy: true },
  { uid: '1.2.840.10008.1.2.4.110', name: 'JPEG XL Lossless', codec: 'unsupported', littleEndian: true, explicitVR: true, lossy: false },
  { uid: '1.2.840.10008.1.2.4.112', name: 'JPEG XL', codec: 'unsupported', littleEndian: true, explicitVR: true, lossy: true },
];

const byUid = new Map(table.map((t) => [t.uid, t]));

export function transferSyntaxInfo(uid: string): TransferSyntaxInfo {
  return byUid.get(uid) ?? { uid, name: `unknown transfer syntax ${uid}`, codec: 'unsupported', littleEndian: true, explicitVR: true, lossy: true };
}

/** Syntaxes this build decodes (video and JPEG XL have no codec here). */
export function isDecodable(info: TransferSyntaxInfo): boolean {
  return info.codec !== 'video' && info.codec !== 'unsupported';
}
