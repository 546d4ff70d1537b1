#include "kernels/onednn/banded_conv.h"

#include <omp.h>

#include <algorithm>

#include "edgepipe/arena.h"

namespace ep::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

constexpr int64_t kBandOutBytes = 160 * 1024;  // a band's output: in L2 (512 KB on a Zen 1)

}  // namespace

bool BandedConv::supports(const FusedConvParams& p) {
  return p.precision == ConvPrecision::f32 && !p.transposed && p.nhwc && p.block == 0 && p.group == 1 &&
         p.kh * p.kw > 1 && p.dilation[0] == 1 && p.dilation[1] == 1 && p.pad_begin[0] < p.kh &&
         p.pad_end[0] < p.kh && p.x_dtype == DType::f32 && p.y_dtype == DType::f32 && p.r_dtype == DType::f32 &&
         has_slow_avx2_post_op(p.post_ops);
}

// A convolution over one band's input rows, bias only, user scratchpad.
dnnl::convolution_forward::primitive_desc BandedConv::describe(const BandShape& s) const {
  using C = dnnl::convolution_forward;
  const FusedConvParams& p = p_;
  const memory::desc src_md({1, p.cin, s.in_rows, p.w}, dt::f32, tag::nhwc);
  const memory::desc dst_md({1, p.cout, s.rows, p.ow}, dt::f32, tag::nhwc);
  const memory::desc w_any({p.cout, p.cin, p.kh, p.kw}, dt::f32, tag::any), b_md({p.cout}, dt::f32, tag::a);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return C::primitive_desc(C::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
                                   w_any, b_md, dst_md, {p.stride[0], p.stride[1]}, {s.pad_top, p.pad_begin[1]},
                                   {s.pad_bottom, p.pad_end[1]}),
                           attr, onednn::cpu_engine());
}

// The primitive for a band shape, created the first time the shape occurs.
size_t BandedConv::conv_for(const BandShape& s) {
  for (size_t i = 0; i < convs_.size(); ++i)
    if (convs_[i].shape == s) return i;
  const auto pd = describe(s);
  onednn::SharedWeightsConv shared = onednn::shared_weights_conv(pd, weights_, bias_, workers_);
  Conv conv{s, std::move(shared.prim), std::move(shared.workers)};
  pad_bytes_ = std::max(pad_bytes_, pd.scratchpad_desc().get_size());
  convs_.push_back(std::move(conv));
  return convs_.size() - 1;
}

size_t BandedConv::prepare(const FusedConvParams& p, const float* w, const float* b) {
  p_ = p;
  const int64_t threads = omp_get_max_threads();
  int64_t rows = std::clamp<int64_t>(kBandOutBytes / (p.ow * p.cout * 4), 1, p.oh);
  int64_t per_image = (p.oh + rows - 1) / rows;
  if (threads > 1) {
    // Each thread takes whole bands, with its own convolution and chain (one parallel region;
    // a whole-team convolution then a whole-team chain is two): bands of equal rows, per image
    // a multiple of `threads` or at least threads / N.
    const int64_t want = p.n >= threads ? per_image : std::max(per_image, (threads + p.n - 1) / p.n);
    const int64_t bands = std::min(p.oh, (want + threads - 1) / threads * threads);
    rows = (p.oh + bands - 1) / bands;
    per_image = (p.oh + rows - 1) / rows;
  }
  workers_ = threads > 1 && p.n * per_image >= threads ? threads : 1;
  for (int64_t r0 = 0; r0 < p.oh; r0 += rows) {
    const int64_t count = std::min(rows, p.oh - r0);
    const int64_t first = r0 * p.stride[0] - p.pad_begin[0], last = (r0 + count - 1) * p.stride[0] - p.pad_begin[0] + p.kh - 1;
    const int64_t in0 = std::max<int64_t>(first, 0), in1 = std::min(last, p.h - 1);
    if (in1 < in0) throw dnnl::error(dnnl_unimplemented, "a band wholly in the padding");
    bands_.push_back({r0, in0, conv_for({count, in1 - in0 + 1, in0 - first, last - in1})});
  }
  dnnl::engine& eng = onednn::cpu_engine();
  memory user_w({{p.cout, p.cin, p.kh, p.kw}, dt::f32, tag::oihw}, eng, const_cast<float*>(w));
  dnnl::reorder(user_w, weights_).execute(onednn::thread_stream(), user_w, weights_);
  onednn::thread_stream().wait();
  float* bias = static_cast<float*>(bias_.get_data_handle());
  for (int64_t o = 0; o < p.cout; ++o) bias[o] = b ? b[o] : 0.f;
  pad_bytes_ = arena_align(pad_bytes_);
  return static_cast<size_t>(workers_) * pad_bytes_;
}

void BandedConv::run_band(const float* x, float* y, const float* r, int64_t item, int64_t worker,
                          char* scratch) const {
  const FusedConvParams& p = p_;
  const int64_t img = item / static_cast<int64_t>(bands_.size());
  const Band& band = bands_[static_cast<size_t>(item) % bands_.size()];
  const Conv& conv = convs_[band.conv];
  const onednn::RunMemories& wk = conv.workers[static_cast<size_t>(worker)];
  wk.src.set_data_handle(const_cast<float*>(x + (img * p.h + band.in_row0) * p.w * p.cin));
  const int64_t out0 = (img * p.oh + band.row0) * p.ow * p.cout;
  wk.dst.set_data_handle(y + out0);
  if (wk.pad) wk.pad.set_data_handle(scratch + static_cast<size_t>(worker) * pad_bytes_);
  onednn::execute(conv.prim, wk.args);
  const float* res = r ? r + out0 : nullptr;
  // One worker: the convolution used the whole team, so does the chain (in spans of 4096).
  const int64_t total = conv.shape.rows * p.ow * p.cout, span = 4096, spans = (total + span - 1) / span;
#pragma omp parallel for if (workers_ == 1 && spans > 1 && omp_get_max_threads() > 1) schedule(static)
  for (int64_t s = 0; s < spans; ++s) {
    const int64_t begin = s * span, n = std::min(span, total - begin);
    for (const PostOp& op : p.post_ops) apply_post_op_span(op, y + out0 + begin, res ? res + begin : nullptr, n);
  }
}

void BandedConv::run(const float* x, float* y, const float* r, void* scratch) const {
  char* base = static_cast<char*>(scratch);
  const int64_t items = p_.n * static_cast<int64_t>(bands_.size());
  if (workers_ > 1) {  // whole bands per thread; the convolution inside runs on it alone
#pragma omp parallel for schedule(static) num_threads(workers_)
    for (int64_t i = 0; i < items; ++i) run_band(x, y, r, i, omp_get_thread_num(), base);
  } else {
    for (int64_t i = 0; i < items; ++i) run_band(x, y, r, i, 0, base);
  }
}

}  // namespace ep::kernels
