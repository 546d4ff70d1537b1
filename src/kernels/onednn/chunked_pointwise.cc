#include "kernels/onednn/chunked_pointwise.h"

#include <omp.h>

#include <algorithm>

#include "edgepipe/arena.h"

namespace ep::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

constexpr int64_t kChunkOutBytes = 160 * 1024;  // a chunk's output: in L2 (512 KB on a Zen 1) with its input
constexpr int64_t kMinChunk = 64;
// Every chunk reads all the weights again: with 160 KB chunks YOLOv5s' layers with 128 KB
// of weights and more (256 -> 128 at 40x40 and up) ran 5-15% slower at 2 threads, so a
// chunk's output is at least twice the weights (one chunk, the whole output, for SPPF's
// 1024 -> 512 at 20x20).
constexpr int64_t kWeightsPerChunk = 2;

}  // namespace

bool ChunkedPointwise::supports(const FusedConvParams& p) {
  return p.precision == ConvPrecision::f32 && !p.transposed && p.nhwc && p.block == 0 && p.group == 1 && p.kh == 1 &&
         p.kw == 1 && p.stride[0] == 1 && p.stride[1] == 1 && p.pad_begin[0] == 0 && p.pad_begin[1] == 0 &&
         p.pad_end[0] == 0 && p.pad_end[1] == 0 && p.x_dtype == DType::f32 && p.y_dtype == DType::f32 &&
         p.r_dtype == DType::f32 && has_slow_avx2_post_op(p.post_ops);
}

// A 1x1 convolution over a run of `pixels` NHWC pixels, bias only, user scratchpad.
dnnl::convolution_forward::primitive_desc ChunkedPointwise::describe(int64_t pixels) const {
  using C = dnnl::convolution_forward;
  const FusedConvParams& p = p_;
  const memory::desc src_md({1, p.cin, 1, pixels}, dt::f32, tag::nhwc), dst_md({1, p.cout, 1, pixels}, dt::f32, tag::nhwc);
  const memory::desc w_any({p.cout, p.cin, 1, 1}, dt::f32, tag::any), b_md({p.cout}, dt::f32, tag::a);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return C::primitive_desc(C::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                   w_any, b_md, dst_md, {1, 1}, {0, 0}, {0, 0}),
                           attr, onednn::cpu_engine());
}

void ChunkedPointwise::build(int64_t pixels, Conv& conv) {
  const auto pd = describe(pixels);
  const memory::desc src_md = pd.src_desc(), dst_md = pd.dst_desc();
  if (onednn::is_reference_impl(pd.impl_info_str())) throw dnnl::error(dnnl_unimplemented, "reference convolution");
  if (pd.weights_desc() != weights_.get_desc()) throw dnnl::error(dnnl_unimplemented, "chunk weights layout differs");
  conv.prim = dnnl::convolution_forward(pd);
  pad_bytes_ = std::max(pad_bytes_, pd.scratchpad_desc().get_size());
  for (int64_t k = 0; k < workers_; ++k)
    conv.workers.push_back(onednn::run_memories(src_md, dst_md, pd.scratchpad_desc(),
                                                {{DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_BIAS, bias_}}));
}

size_t ChunkedPointwise::prepare(const FusedConvParams& p, const float* w, const float* b) {
  p_ = p;
  pixels_ = p.n * p.h * p.w;
  const int64_t out_bytes = std::max(kChunkOutBytes, kWeightsPerChunk * p.cin * p.cout * 4);
  chunk_ = std::max(kMinChunk, out_bytes / (p.cout * 4) / 16 * 16);
  chunk_ = std::min(chunk_, pixels_);
  const int64_t threads = omp_get_max_threads();
  // With several threads each takes whole chunks, with its own convolution and chain: one
  // parallel region instead of a whole-team convolution then a whole-team chain (Zen 1, 2
  // threads: a convolution split by pixels takes what oneDNN's own split does, 960 -> 160 at
  // 7x7 0.22 -> 0.21 ms, 1024 -> 512 at 20x20 5.48 -> 5.50).
  if (threads > 1) {  // a multiple of `threads` chunks of equal size, so no thread waits on another
    const int64_t chunks = ((pixels_ + chunk_ - 1) / chunk_ + threads - 1) / threads * threads;
    chunk_ = (pixels_ + chunks - 1) / chunks;
  }
  tail_ = pixels_ % chunk_;
  workers_ = threads > 1 && (pixels_ + chunk_ - 1) / chunk_ >= threads ? threads : 1;

  dnnl::engine& eng = onednn::cpu_engine();
  // The weights' layout for the full chunk's primitive; the tail's must match (checked).
  {
    const auto pd = describe(chunk_);
    weights_ = memory(pd.weights_desc(), eng);
    memory user_w({{p.cout, p.cin, 1, 1}, dt::f32, tag::oihw}, eng, const_cast<float*>(w));
    dnnl::reorder(user_w, weights_).execute(onednn::thread_stream(), user_w, weights_);
    onednn::thread_stream().wait();
    bias_ = memory(pd.bias_desc(), eng);
    float* bias = static_cast<float*>(bias_.get_data_handle());
    for (int64_t o = 0; o < p.cout; ++o) bias[o] = b ? b[o] : 0.f;
  }
  build(chunk_, full_);
  if (tail_) build(tail_, tail_conv_);
  pad_bytes_ = arena_align(pad_bytes_);
  return static_cast<size_t>(workers_) * pad_bytes_;
}

void ChunkedPointwise::run_chunk(const float* x, float* y, const float* r, int64_t p0, int64_t worker,
                                 char* scratch) const {
  const int64_t count = std::min(chunk_, pixels_ - p0);
  const onednn::RunMemories& wk = (count == chunk_ ? full_ : tail_conv_).workers[static_cast<size_t>(worker)];
  wk.src.set_data_handle(const_cast<float*>(x + p0 * p_.cin));
  float* out = y + p0 * p_.cout;
  wk.dst.set_data_handle(out);
  if (wk.pad) wk.pad.set_data_handle(scratch + static_cast<size_t>(worker) * pad_bytes_);
  onednn::execute((count == chunk_ ? full_ : tail_conv_).prim, wk.args);
  const float* res = r ? r + p0 * p_.cout : nullptr;
  // One worker: the convolution used the whole team, so does the chain (in spans of 4096).
  const int64_t total = count * p_.cout, span = 4096, spans = (total + span - 1) / span;
#pragma omp parallel for if (workers_ == 1 && spans > 1 && omp_get_max_threads() > 1) schedule(static)
  for (int64_t s = 0; s < spans; ++s) {
    const int64_t begin = s * span, n = std::min(span, total - begin);
    for (const PostOp& op : p_.post_ops) apply_post_op_span(op, out + begin, res ? res + begin : nullptr, n);
  }
}

void ChunkedPointwise::run(const float* x, float* y, const float* r, void* scratch) const {
  char* base = static_cast<char*>(scratch);
  const int64_t items = (pixels_ + chunk_ - 1) / chunk_;
  if (workers_ > 1) {  // whole chunks per thread; the convolution inside runs on it alone
#pragma omp parallel for schedule(static) num_threads(workers_)
    for (int64_t i = 0; i < items; ++i) run_chunk(x, y, r, i * chunk_, omp_get_thread_num(), base);
  } else {
    for (int64_t i = 0; i < items; ++i) run_chunk(x, y, r, i * chunk_, 0, base);
  }
}

}  // namespace ep::kernels
