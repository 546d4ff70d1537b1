// Slice where the innermost read is contiguous (every slice along a non-last axis, and
// YOLOv5's box slices along the last): rows copied with the view merged once at prepare, no
// allocation in run, and large slices split across the calling thread's OpenMP team. Strided
// innermost reads (steps other than 1 on the last axis) go to the reference kernel.
#include <omp.h>

#include <algorithm>

#include "kernels/cpu/cpu_kernels.h"
#include "kernels/ref/data_movement.h"

namespace ep::kernels::cpu {
namespace {

constexpr size_t kMaxOuter = 12;              // merged outer dims kept in a fixed array

class Slice final : public Kernel {
 public:
  Status prepare(PrepareContext& ctx) override {
    EP_ASSIGN_OR_RETURN(ref::StridedView v, ref::slice_view(ctx));
    es_ = dtype_size(ctx.input(0).dtype);
    if (es_ == 0) return ctx.unsupported_error("element size");
    // Drop size-1 dims; merge a dim into the one before where the input is contiguous across them.
    std::vector<int64_t> dims, strides;
    for (size_t d = 0; d < v.shape.rank(); ++d) {
      if (v.shape[d] == 1) continue;
      if (!dims.empty() && strides.back() == v.strides[d] * v.shape[d]) {
        dims.back() *= v.shape[d];
        strides.back() = v.strides[d];
        continue;
      }
      dims.push_back(v.shape[d]);
      strides.push_back(v.strides[d]);
    }
    rows_ = 0;
    if (v.shape.numel() > 0) {
      if (dims.empty()) dims = {1}, strides = {1};
      if (strides.back() != 1) return ctx.unsupported_error("strided innermost read");
      if (dims.size() - 1 > kMaxOuter) return ctx.unsupported_error("more than ", kMaxOuter, " strided dims");
      outer_rank_ = dims.size() - 1;
      rows_ = 1;
      for (size_t d = 0; d < outer_rank_; ++d) {
        dims_[d] = dims[d];
        strides_[d] = strides[d];
        rows_ *= dims[d];
      }
      row_bytes_ = static_cast<size_t>(dims.back()) * es_;
      base_ = v.base;
    }
    ctx.set_output(0, ctx.input(0).dtype, v.shape);
    return Status::ok();
  }

  Status run(const RunContext& ctx) noexcept override {
    if (rows_ == 0) return Status::ok();
    const char* x = static_cast<const char*>(ctx.inputs[0].data) + static_cast<size_t>(base_) * es_;
    char* y = static_cast<char*>(ctx.outputs[0].data);
    const bool par = static_cast<size_t>(rows_) * row_bytes_ >= kParallelBytes && rows_ > 1 && omp_get_max_threads() > 1;
#pragma omp parallel if (par)
    {
      const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
      copy_rows(x, y, rows_ * t / nt, rows_ * (t + 1) / nt);
    }
    return Status::ok();
  }

 private:
  // Output rows [r0, r1): the input offset of r0 from its index, then an odometer.
  void copy_rows(const char* x, char* y, int64_t r0, int64_t r1) const {
    if (r0 >= r1) return;
    int64_t idx[kMaxOuter] = {};
    int64_t offset = 0, rest = r0;  // offset in elements
    for (size_t d = outer_rank_; d-- > 0;) {
      idx[d] = rest % dims_[d];
      rest /= dims_[d];
      offset += idx[d] * strides_[d];
    }
    for (int64_t r = r0; r < r1; ++r) {
      ref::copy_run(y + static_cast<size_t>(r) * row_bytes_, x + offset * static_cast<int64_t>(es_), row_bytes_);
      for (size_t d = outer_rank_; d-- > 0;) {
        offset += strides_[d];
        if (++idx[d] < dims_[d]) break;
        offset -= strides_[d] * dims_[d];
        idx[d] = 0;
      }
    }
  }

  size_t es_ = 4, row_bytes_ = 0, outer_rank_ = 0;
  int64_t rows_ = 0, base_ = 0;
  int64_t dims_[kMaxOuter] = {}, strides_[kMaxOuter] = {};  // merged outer dims, input strides in elements
};

}  // namespace

std::unique_ptr<Kernel> make_slice() { return std::make_unique<Slice>(); }

}  // namespace ep::kernels::cpu
