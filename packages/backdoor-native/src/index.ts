export { type NativeBinding, loadBinding, platformPackage } from './binding.js';
export { type CpuInfo, type DetectOptions, type Detection, cpuInfo, detect } from './detect.js';
export { NativeBackdoorPort } from './port.js';
