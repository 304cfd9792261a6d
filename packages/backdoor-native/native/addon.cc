/*
 * Node-API glue (node-addon-api, Node-API 8, no C++ exceptions). Register blocks travel as a
 * Uint32Array of 7 (eax, ebx, ecx, edx, esi, edi, ebp) updated in place, so a call allocates
 * nothing: the hot path is one typed-array access, the instruction, and seven stores.
 * Argument checks that must hold before anything reaches a port are done again here, so a
 * caller that bypasses the TypeScript layer still cannot hand the instruction a bad buffer.
 */
#include <napi.h>

#include <cstring>

#include "backdoor.h"

namespace {

// Register blocks are checked against raw Node-API: one napi_get_typedarray_info (the wrapper
// classes' extra type queries cost microseconds per call under emulation, on the hot path).
bool RawRegs(napi_env env, napi_value v, uint32_t **out) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint32_array || length != 7) {
    napi_throw_type_error(env, nullptr, "registers must be a Uint32Array of 7 (eax, ebx, ecx, edx, esi, edi, ebp)");
    return false;
  }
  *out = static_cast<uint32_t *>(data);
  return true;
}

bool BufferArg(const Napi::CallbackInfo &info, size_t i, uint8_t **data, size_t *len) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsTypedArray() ||
      info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "buffer must be a Uint8Array or Buffer").ThrowAsJavaScriptException();
    return false;
  }
  auto a = info[i].As<Napi::Uint8Array>();
  *data = a.Data();
  *len = a.ByteLength();
  return true;
}

void Load(vmw9_regs *r, const uint32_t *a) {
  r->ax = a[0];
  r->bx = a[1];
  r->cx = a[2];
  r->dx = a[3];
  r->si = a[4];
  r->di = a[5];
  r->bp = a[6];
}

void Store(uint32_t *a, const vmw9_regs *r) {
  a[0] = (uint32_t)r->ax;
  a[1] = (uint32_t)r->bx;
  a[2] = (uint32_t)r->cx;
  a[3] = (uint32_t)r->dx;
  a[4] = (uint32_t)r->si;
  a[5] = (uint32_t)r->di;
  a[6] = (uint32_t)r->bp;
}

napi_value LowBandwidth(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t *a;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1 || !RawRegs(env, argv[0], &a))
    return nullptr;
  vmw9_regs r;
  Load(&r, a);
  vmw9_bdoor_lb(&r);
  Store(a, &r);
  return nullptr;
}

// A register block bound once (bindBlock), so each call passes nothing: the cheapest crossing
// Node-API offers. The block's ArrayBuffer is held by a reference, so its memory stays put.
uint32_t *g_block = nullptr;
napi_ref g_block_ref = nullptr;

napi_value BindBlock(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t *a;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1 || !RawRegs(env, argv[0], &a))
    return nullptr;
  if (g_block_ref) napi_delete_reference(env, g_block_ref);
  napi_create_reference(env, argv[0], 1, &g_block_ref);
  g_block = a;
  return nullptr;
}

napi_value LowBandwidthBound(napi_env env, napi_callback_info) {
  if (!g_block) {
    napi_throw_error(env, nullptr, "lowBandwidthBound: no register block bound (call bindBlock first)");
    return nullptr;
  }
  vmw9_regs r;
  Load(&r, g_block);
  vmw9_bdoor_lb(&r);
  Store(g_block, &r);
  return nullptr;
}

// HB OUT: rsi = source, rcx = count; the caller's esi/ecx are replaced by the buffer's.
Napi::Value HbOut(const Napi::CallbackInfo &info) {
  uint32_t *a;
  uint8_t *data;
  size_t len;
  if (!RawRegs(info.Env(), info[0], &a) || !BufferArg(info, 1, &data, &len)) return info.Env().Undefined();
  vmw9_regs r;
  Load(&r, a);
  r.si = (uint64_t)(uintptr_t)data;
  r.cx = len;
  vmw9_bdoor_hb_out(&r);
  Store(a, &r);
  return info.Env().Undefined();
}

// HB IN: rdi = destination, rcx = count.
Napi::Value HbIn(const Napi::CallbackInfo &info) {
  uint32_t *a;
  uint8_t *data;
  size_t len;
  if (!RawRegs(info.Env(), info[0], &a) || !BufferArg(info, 1, &data, &len)) return info.Env().Undefined();
  vmw9_regs r;
  Load(&r, a);
  r.di = (uint64_t)(uintptr_t)data;
  r.cx = len;
  vmw9_bdoor_hb_in(&r);
  Store(a, &r);
  return info.Env().Undefined();
}

// probe(regs, timeoutMs) -> { ok, signal, timedOut, errno }; on ok the registers are updated.
Napi::Value Probe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t *a;
  if (!RawRegs(env, info[0], &a)) return env.Undefined();
  int timeout = 2000;
  if (info.Length() > 1 && info[1].IsNumber()) timeout = info[1].As<Napi::Number>().Int32Value();
  if (timeout < 1 || timeout > 60000) timeout = 2000;
  vmw9_regs r;
  Load(&r, a);
  vmw9_probe_result res = vmw9_probe_lb(&r, timeout);
  if (res.ok) Store(a, &r);
  Napi::Object o = Napi::Object::New(env);
  o.Set("ok", Napi::Boolean::New(env, res.ok != 0));
  o.Set("signal", Napi::Number::New(env, res.signal));
  o.Set("timedOut", Napi::Boolean::New(env, res.timed_out != 0));
  o.Set("errno", Napi::Number::New(env, res.error));
  return o;
}

// cpuid(leaf, subleaf) -> Uint32Array [eax, ebx, ecx, edx], or null off x86.
Napi::Value Cpuid(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "leaf must be a number").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t leaf = info[0].As<Napi::Number>().Uint32Value();
  uint32_t sub = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0;
  uint32_t out[4];
  if (!vmw9_cpuid(leaf, sub, out)) return env.Null();
  Napi::Uint32Array arr = Napi::Uint32Array::New(env, 4);
  std::memcpy(arr.Data(), out, sizeof out);
  return arr;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "lowBandwidth", NAPI_AUTO_LENGTH, LowBandwidth, nullptr, &fn);
  exports.Set("lowBandwidth", fn);
  napi_create_function(env, "bindBlock", NAPI_AUTO_LENGTH, BindBlock, nullptr, &fn);
  exports.Set("bindBlock", fn);
  napi_create_function(env, "lowBandwidthBound", NAPI_AUTO_LENGTH, LowBandwidthBound, nullptr, &fn);
  exports.Set("lowBandwidthBound", fn);
  exports.Set("hbOut", Napi::Function::New(env, HbOut, "hbOut"));
  exports.Set("hbIn", Napi::Function::New(env, HbIn, "hbIn"));
  exports.Set("probe", Napi::Function::New(env, Probe, "probe"));
  exports.Set("cpuid", Napi::Function::New(env, Cpuid, "cpuid"));
#if defined(__x86_64__)
  const char *arch = "x64";
#elif defined(__i386__)
  const char *arch = "ia32";
#elif defined(__aarch64__)
  const char *arch = "arm64";
#else
  const char *arch = "unknown";
#endif
  exports.Set("arch", Napi::String::New(env, arch));
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace

NODE_API_MODULE(vmw9_backdoor, Init)
