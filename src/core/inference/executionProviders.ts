/**
 * Execution-provider choice for onnxruntime-node. `auto` tries the GPU providers this platform can have, in
 * order of preference, and falls back to CPU; an explicit choice that cannot load fails with the reason and
 * how to fix it. Which provider really runs is reported back (status bar, output channel, provenance).
 */
export type DevicePreference = 'auto' | 'cpu' | 'cuda' | 'webgpu' | 'dml' | 'coreml';
export const DEVICE_PREFERENCES: readonly DevicePreference[] = ['auto', 'cpu', 'cuda', 'webgpu', 'dml', 'coreml'];

/** The GPU providers worth trying on a platform, best first (onnxruntime-node 1.30's npm binaries). */
export function gpuCandidates(platform: string, arch: string): DevicePreference[] {
  if (platform === 'linux' && arch === 'x64') return ['cuda', 'webgpu'];
  if (platform === 'win32') return ['dml', 'webgpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu'];
  return [];
}

/** Providers to try, in order, for a preference. */
export function providerPlan(pref: DevicePreference, platform = process.platform, arch = process.arch): DevicePreference[] {
  if (pref === 'auto') return [...gpuCandidates(platform, arch), 'cpu'];
  return [pref];
}

/** What a user can do when an explicitly chosen provider fails to load. */
export function providerFixHint(ep: DevicePreference, platform = process.platform, arch = process.arch): string {
  switch (ep) {
    case 'cuda':
      if (!(platform === 'linux' && arch === 'x64')) return 'the CUDA provider exists only for Linux x64 in onnxruntime-node; use auto or cpu.';
      return 'onnxruntime-node\'s CUDA provider binaries (libonnxruntime_providers_cuda.so, _shared.so) are not installed: ' +
        'they are downloaded by its install script, which is skipped offline. Where the network allows run ' +
        '`npm install-scripts approve onnxruntime-node && npm rebuild onnxruntime-node` (or ' +
        '`ONNXRUNTIME_NODE_INSTALL_CUDA=v12 node node_modules/onnxruntime-node/script/install`) in the extension folder, ' +
        'and make sure CUDA 12 and cuDNN 9 libraries are on the library path; or set pointbox.inference.device to auto.';
    case 'webgpu':
      return 'no WebGPU adapter was found (needs a GPU with Vulkan on Linux, D3D12 on Windows, Metal on macOS, and its drivers); set pointbox.inference.device to auto or cpu.';
    case 'dml':
      return 'DirectML exists only on Windows; use auto or cpu elsewhere.';
    case 'coreml':
      return 'CoreML exists only on macOS; use auto or cpu elsewhere.';
    default:
      return 'the CPU provider should always load; reinstall onnxruntime-node (npm ci).';
  }
}
