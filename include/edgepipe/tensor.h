// Shape, TensorView (a typed window on memory it does not own) and Tensor (owning, 64-byte aligned).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "edgepipe/dtype.h"
#include "edgepipe/status.h"

namespace ep {

inline constexpr size_t kTensorAlignment = 64;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

  size_t rank() const { return dims_.size(); }
  int64_t operator[](size_t i) const { return dims_[i]; }
  int64_t& operator[](size_t i) { return dims_[i]; }
  const std::vector<int64_t>& dims() const { return dims_; }
  std::vector<int64_t>& dims() { return dims_; }
  // Product of dims; 1 for a scalar. Only meaningful when is_static().
  int64_t numel() const;
  // Every dim known and >= 0.
  bool is_static() const;
  std::string to_string() const;  // "1x3x640x640", "scalar", "?x3" for unknown
  bool operator==(const Shape& o) const { return dims_ == o.dims_; }
  bool operator!=(const Shape& o) const { return dims_ != o.dims_; }

 private:
  std::vector<int64_t> dims_;  // -1 = unknown
};

// Parses "1x3x640x640" (also accepts ',' separators). Rejects negatives and overflow.
Result<Shape> parse_shape(const std::string& text);
// numel with overflow detection; error if any dim is negative or the product exceeds 2^62.
Result<int64_t> checked_numel(const Shape& shape);

struct TensorView {
  DType dtype = DType::undefined;
  Shape shape;
  void* data = nullptr;

  int64_t numel() const { return shape.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
  template <typename T> T* as() const { return static_cast<T*>(data); }
};

class Tensor {
 public:
  Tensor() = default;
  // Allocates zero-filled storage; the shape must be static (checked by the caller).
  Tensor(DType dtype, Shape shape);
  static Result<Tensor> create(DType dtype, const Shape& shape);  // validated version
  template <typename T>
  static Tensor from_vector(const Shape& shape, const std::vector<T>& values);

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return nbytes_; }
  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }
  template <typename T> T* as() { return static_cast<T*>(data()); }
  template <typename T> const T* as() const { return static_cast<const T*>(data()); }
  TensorView view() const { return TensorView{dtype_, shape_, const_cast<void*>(data())}; }
  // Same bytes, new shape (numel must match).
  void reshape(const Shape& shape);
  Tensor clone() const;

 private:
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  DType dtype_ = DType::undefined;
  Shape shape_;
  size_t nbytes_ = 0;
  std::unique_ptr<void, FreeDeleter> data_;
};

template <typename T>
Tensor Tensor::from_vector(const Shape& shape, const std::vector<T>& values) {
  Tensor t(dtype_of<T>(), shape);
  EP_CHECK(static_cast<int64_t>(values.size()) == t.numel());
  T* p = t.as<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

// Reads element i of any numeric tensor as double / int64 (for tests and small shape tensors).
double view_get_f64(const TensorView& v, int64_t i);
int64_t view_get_i64(const TensorView& v, int64_t i);

}  // namespace ep
