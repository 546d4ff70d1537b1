#include "kernels/onednn/pointwise_depthwise.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "edgepipe/arena.h"

namespace ep::kernels {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// A band's expanded rows: in L2 (512 KB on a Zen 1) beside the input and output rows.
// (128, 256 and 384 KB measured on MobileNetV3's layer: 256 or 384 best, within noise.)
constexpr int64_t kBandBufferBytes = 256 * 1024;

bool plain_f32_nhwc(const FusedConvParams& p) {
  return p.precision == ConvPrecision::f32 && p.x_dtype == DType::f32 && p.y_dtype == DType::f32 &&
         p.r_dtype == DType::f32 && p.nhwc && p.block == 0 && !p.transposed && p.dilation[0] == 1 &&
         p.dilation[1] == 1 && !has_post_op(p.post_ops, PostOpKind::residual);
}

// Whether oneDNN runs the chain as its post-ops: no algorithm twice (oneDNN 2.6 may give a
// repeated algorithm the first one's parameters; see normalize_post_ops in fused_conv.cc),
// and for the 1x1 none of those its AVX2 kernels run slowly. Otherwise it is applied to each
// band in cache. The depthwise keeps oneDNN's hard swish, as FusedConv does (faster there
// than applied after: the detector's 48 channels at 160x160 1x1 + depthwise 5.44 ms with it
// applied after, 4.4 with it in the primitive).
bool chain_in_primitive(const std::vector<PostOp>& ops, bool depthwise) {
  std::set<PostOpKind> seen;
  for (const PostOp& op : ops)
    if (!seen.insert(op.kind).second) return false;
  return depthwise ? !has_exp_post_op(ops) : !has_slow_avx2_post_op(ops);
}

dnnl::primitive_attr make_attr(const std::vector<PostOp>& chain, bool in_primitive) {
  dnnl::post_ops ops;
  if (in_primitive)
    for (const PostOp& op : chain) switch (op.kind) {
        case PostOpKind::relu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
        case PostOpKind::clip: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip_v2, op.a, op.b); break;
        case PostOpKind::linear: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, op.a, op.b); break;
        case PostOpKind::hard_swish: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_hardswish, 0.f, 0.f); break;
        default: break;  // exp-based ones never reach here (chain_in_primitive)
      }
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void apply_chain(const std::vector<PostOp>& chain, float* v, int64_t count) {
  for (const PostOp& op : chain) apply_post_op_span(op, v, nullptr, count);
}

}  // namespace

bool PointwiseDepthwise::supports(const FusedConvParams& pw, const FusedConvParams& dw) {
  return plain_f32_nhwc(pw) && plain_f32_nhwc(dw) && pw.group == 1 && pw.kh == 1 && pw.kw == 1 && pw.stride[0] == 1 &&
         pw.stride[1] == 1 && pw.pad_begin[0] == 0 && pw.pad_begin[1] == 0 && pw.pad_end[0] == 0 &&
         pw.pad_end[1] == 0 && dw.cin == pw.cout && dw.group == dw.cin && dw.cout == dw.cin && pw.n == dw.n &&
         pw.oh == dw.h && pw.ow == dw.w && dw.pad_begin[0] < dw.kh && dw.pad_end[0] < dw.kh &&
         dw.pad_begin[1] < dw.kw && dw.pad_end[1] < dw.kw;
}

size_t PointwiseDepthwise::pw_prim(int64_t rows) {
  for (size_t i = 0; i < pw_prims_.size(); ++i)
    if (pw_prims_[i].rows == rows) return i;
  using C = dnnl::convolution_forward;
  const FusedConvParams& p = pw_;
  const memory::desc src({1, p.cin, rows, p.w}, dt::f32, tag::nhwc), dst({1, p.cout, rows, p.w}, dt::f32, tag::nhwc);
  const memory::desc w_any({p.cout, p.cin, 1, 1}, dt::f32, tag::any), b_md({p.cout}, dt::f32, tag::a);
  const C::primitive_desc pd(C::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                                     w_any, b_md, dst, {1, 1}, {0, 0}, {0, 0}),
                             make_attr(p.post_ops, pw_chain_in_prim_), onednn::cpu_engine());
  onednn::SharedWeightsConv conv = onednn::shared_weights_conv(pd, w_, b_, workers_);
  Prim prim{rows, rows, 0, 0, std::move(conv.prim), std::move(conv.workers)};
  pad_bytes_ = std::max(pad_bytes_, pd.scratchpad_desc().get_size());
  pw_prims_.push_back(std::move(prim));
  return pw_prims_.size() - 1;
}

size_t PointwiseDepthwise::dw_prim(int64_t rows, int64_t in_rows, int64_t pad_top, int64_t pad_bottom) {
  for (size_t i = 0; i < dw_prims_.size(); ++i) {
    const Prim& d = dw_prims_[i];
    if (d.rows == rows && d.in_rows == in_rows && d.pad_top == pad_top && d.pad_bottom == pad_bottom) return i;
  }
  using C = dnnl::convolution_forward;
  const FusedConvParams& p = dw_;
  const memory::desc src({1, p.cin, in_rows, p.w}, dt::f32, tag::nhwc), dst({1, p.cout, rows, p.ow}, dt::f32, tag::nhwc);
  const memory::desc w_any({p.cout, 1, 1, p.kh, p.kw}, dt::f32, tag::any), b_md({p.cout}, dt::f32, tag::a);
  const C::primitive_desc pd(
      C::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, w_any, b_md, dst,
              {p.stride[0], p.stride[1]}, {pad_top, p.pad_begin[1]}, {pad_bottom, p.pad_end[1]}),
      make_attr(p.post_ops, dw_chain_in_prim_), onednn::cpu_engine());
  onednn::SharedWeightsConv conv = onednn::shared_weights_conv(pd, wd_, bd_, workers_);
  Prim prim{rows, in_rows, pad_top, pad_bottom, std::move(conv.prim), std::move(conv.workers)};
  pad_bytes_ = std::max(pad_bytes_, pd.scratchpad_desc().get_size());
  dw_prims_.push_back(std::move(prim));
  return dw_prims_.size() - 1;
}

size_t PointwiseDepthwise::prepare(const FusedConvParams& pw, const FusedConvParams& dw, const float* w,
                                   const float* b, const float* wd, const float* bd) {
  if (!supports(pw, dw)) throw dnnl::error(dnnl_unimplemented, "not a 1x1 + depthwise pair");
  pw_ = pw;
  dw_ = dw;
  pw_chain_in_prim_ = chain_in_primitive(pw.post_ops, false);
  dw_chain_in_prim_ = chain_in_primitive(dw.post_ops, true);
  const int64_t c = pw.cout, s = dw.stride[0], k = dw.kh, threads = omp_get_max_threads();
  const int64_t row_bytes = pw.w * c * static_cast<int64_t>(sizeof(float));
  // Output rows per band: as many as keep the band's expanded rows within the buffer.
  const int64_t in_rows_max = std::max(k, kBandBufferBytes / row_bytes);
  band_rows_ = std::clamp<int64_t>((in_rows_max - k) / s + 1, 1, dw.oh);
  // Parts of an image: one per thread when there are fewer images than threads.
  const int64_t parts = std::clamp<int64_t>((threads + dw.n - 1) / dw.n, 1, dw.oh);
  workers_ = std::min<int64_t>(threads, dw.n * parts);
  int64_t max_in_rows = 0;
  for (int64_t part = 0; part < parts; ++part) {
    const int64_t p0 = part * dw.oh / parts, p1 = (part + 1) * dw.oh / parts;
    std::vector<Band> bands;
    int64_t prev_in1 = -1;
    for (int64_t r0 = p0; r0 < p1; r0 += band_rows_) {
      const int64_t count = std::min(band_rows_, p1 - r0);
      const int64_t first = r0 * s - dw.pad_begin[0], last = (r0 + count - 1) * s - dw.pad_begin[0] + k - 1;
      const int64_t in0 = std::max<int64_t>(first, 0), in1 = std::min(last, dw.h - 1);
      if (in1 < in0) throw dnnl::error(dnnl_unimplemented, "a band wholly in the padding");
      const int64_t new0 = bands.empty() ? in0 : std::max(in0, prev_in1 + 1);
      bands.push_back({r0, in0, in1, new0, pw_prim(in1 - new0 + 1), dw_prim(count, in1 - in0 + 1, in0 - first, last - in1)});
      max_in_rows = std::max(max_in_rows, in1 - in0 + 1);
      prev_in1 = in1;
    }
    parts_.push_back(std::move(bands));
  }
  dnnl::engine& eng = onednn::cpu_engine();
  dnnl::stream& st = onednn::thread_stream();
  memory user_w({{c, pw.cin, 1, 1}, dt::f32, tag::oihw}, eng, const_cast<float*>(w));
  dnnl::reorder(user_w, w_).execute(st, user_w, w_);
  memory user_wd({{c, 1, 1, dw.kh, dw.kw}, dt::f32, tag::goihw}, eng, const_cast<float*>(wd));
  dnnl::reorder(user_wd, wd_).execute(st, user_wd, wd_);
  st.wait();
  float* bias = static_cast<float*>(b_.get_data_handle());
  float* bias_d = static_cast<float*>(bd_.get_data_handle());
  for (int64_t o = 0; o < c; ++o) {
    bias[o] = b ? b[o] : 0.f;
    bias_d[o] = bd ? bd[o] : 0.f;
  }
  buf_bytes_ = arena_align(static_cast<size_t>(max_in_rows * row_bytes));
  pad_bytes_ = arena_align(pad_bytes_);
  return static_cast<size_t>(workers_) * (buf_bytes_ + pad_bytes_);
}

void PointwiseDepthwise::run_part(const float* x, float* y, int64_t img, int64_t part, int64_t worker,
                                  char* scratch) const {
  const FusedConvParams &pw = pw_, &dw = dw_;
  const int64_t row = pw.w * pw.cout;  // floats per expanded row
  char* base = scratch + static_cast<size_t>(worker) * (buf_bytes_ + pad_bytes_);
  auto* buf = reinterpret_cast<float*>(base);
  char* pad = base + buf_bytes_;
  int64_t prev_in0 = 0;
  for (const Band& band : parts_[static_cast<size_t>(part)]) {
    if (band.new0 > band.in0)  // the rows this band shares with the last one, to the front
      std::memmove(buf, buf + (band.in0 - prev_in0) * row,
                   static_cast<size_t>((band.new0 - band.in0) * row) * sizeof(float));
    const Prim& p1 = pw_prims_[band.pw];
    const onednn::RunMemories& m1 = p1.workers[static_cast<size_t>(worker)];
    float* fresh = buf + (band.new0 - band.in0) * row;
    m1.src.set_data_handle(const_cast<float*>(x + (img * pw.h + band.new0) * pw.w * pw.cin));
    m1.dst.set_data_handle(fresh);
    if (m1.pad) m1.pad.set_data_handle(pad);
    onednn::execute(p1.prim, m1.args);
    if (!pw_chain_in_prim_) apply_chain(pw.post_ops, fresh, p1.rows * row);
    const Prim& p2 = dw_prims_[band.dw];
    const onednn::RunMemories& m2 = p2.workers[static_cast<size_t>(worker)];
    float* out = y + (img * dw.oh + band.row0) * dw.ow * dw.cout;
    m2.src.set_data_handle(buf);
    m2.dst.set_data_handle(out);
    if (m2.pad) m2.pad.set_data_handle(pad);
    onednn::execute(p2.prim, m2.args);
    if (!dw_chain_in_prim_) apply_chain(dw.post_ops, out, p2.rows * dw.ow * dw.cout);
    prev_in0 = band.in0;
  }
}

void PointwiseDepthwise::run(const float* x, float* y, void* scratch) const {
  char* base = static_cast<char*>(scratch);
  const int64_t parts = static_cast<int64_t>(parts_.size()), items = dw_.n * parts;
  if (workers_ > 1) {  // whole parts per thread; the primitives inside run on it alone
#pragma omp parallel for schedule(static) num_threads(workers_)
    for (int64_t i = 0; i < items; ++i) run_part(x, y, i / parts, i % parts, omp_get_thread_num(), base);
  } else {
    for (int64_t i = 0; i < items; ++i) run_part(x, y, i / parts, i % parts, 0, base);
  }
}

}  // namespace ep::kernels
