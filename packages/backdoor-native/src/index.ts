export { loadBinding, type NativeBinding, platformPackage } from './binding.js';
export { type CpuInfo, cpuInfo, type Detection, type DetectOptions, detect } from './detect.js';
export { NativeBackdoorPort } from './port.js';
