#include "edgepipe/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include "edgepipe/arena.h"

namespace ep {

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int64_t d : dims_) n *= d;
  return n;
}

bool Shape::is_static() const {
  for (int64_t d : dims_)
    if (d < 0) return false;
  return true;
}

std::string Shape::to_string() const {
  if (dims_.empty()) return "scalar";
  std::string s;
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += 'x';
    s += dims_[i] < 0 ? std::string("?") : std::to_string(dims_[i]);
  }
  return s;
}

Result<Shape> parse_shape(const std::string& text) {
  std::vector<int64_t> dims;
  if (text.empty() || text == "scalar") return Shape(dims);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find_first_of("x,", pos);
    if (end == std::string::npos) end = text.size();
    const std::string part = text.substr(pos, end - pos);
    if (part.empty() || part.size() > 12 || part.find_first_not_of("0123456789") != std::string::npos)
      return invalid_argument("shape '", text, "': dimension '", part, "' is not a non-negative integer");
    dims.push_back(std::stoll(part));
    pos = end + 1;
  }
  Shape s(dims);
  EP_ASSIGN_OR_RETURN(int64_t n, checked_numel(s));
  (void)n;
  return s;
}

Result<int64_t> checked_numel(const Shape& shape) {
  constexpr int64_t kLimit = int64_t{1} << 62;
  int64_t n = 1;
  for (size_t i = 0; i < shape.rank(); ++i) {
    const int64_t d = shape[i];
    if (d < 0) return invalid_argument("shape ", shape.to_string(), ": dimension ", i, " is unknown or negative");
    if (d != 0 && n > kLimit / d) return resource_exhausted("shape ", shape.to_string(), ": element count overflows");
    n *= d;
  }
  return n;
}

void Tensor::FreeDeleter::operator()(void* p) const { std::free(p); }

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  EP_CHECK(shape_.is_static());
  nbytes_ = static_cast<size_t>(shape_.numel()) * dtype_size(dtype_);
  const size_t alloc = ((nbytes_ + kTensorAlignment - 1) / kTensorAlignment) * kTensorAlignment;
  void* p = alloc_buffer(alloc == 0 ? kTensorAlignment : alloc);  // large ones on huge pages (arena.h)
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, alloc == 0 ? kTensorAlignment : alloc);
  data_.reset(p);
}

Result<Tensor> Tensor::create(DType dtype, const Shape& shape) {
  EP_ASSIGN_OR_RETURN(int64_t n, checked_numel(shape));
  if (dtype_size(dtype) == 0) return invalid_argument("tensor of undefined dtype");
  constexpr int64_t kMaxBytes = int64_t{1} << 40;
  if (n > kMaxBytes / static_cast<int64_t>(dtype_size(dtype)))
    return resource_exhausted("tensor ", shape.to_string(), " of ", dtype_name(dtype), " is too large");
  try {
    return Tensor(dtype, shape);
  } catch (const std::bad_alloc&) {
    return resource_exhausted("cannot allocate tensor ", shape.to_string(), " of ", dtype_name(dtype));
  }
}

void Tensor::reshape(const Shape& shape) {
  EP_CHECK(shape.is_static() && shape.numel() == shape_.numel());
  shape_ = shape;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes_) std::memcpy(t.data(), data(), nbytes_);
  return t;
}

double view_get_f64(const TensorView& v, int64_t i) {
  switch (v.dtype) {
    case DType::f32: return v.as<float>()[i];
    case DType::f64: return v.as<double>()[i];
    case DType::f16: return f16_to_f32(v.as<uint16_t>()[i]);
    case DType::bf16: return bf16_to_f32(v.as<uint16_t>()[i]);
    case DType::i8: return v.as<int8_t>()[i];
    case DType::u8: return v.as<uint8_t>()[i];
    case DType::i16: return v.as<int16_t>()[i];
    case DType::u16: return v.as<uint16_t>()[i];
    case DType::i32: return v.as<int32_t>()[i];
    case DType::u32: return v.as<uint32_t>()[i];
    case DType::i64: return static_cast<double>(v.as<int64_t>()[i]);
    case DType::u64: return static_cast<double>(v.as<uint64_t>()[i]);
    case DType::boolean: return v.as<uint8_t>()[i] ? 1.0 : 0.0;
    case DType::undefined: break;
  }
  return 0.0;
}

int64_t view_get_i64(const TensorView& v, int64_t i) {
  switch (v.dtype) {
    case DType::i64: return v.as<int64_t>()[i];
    case DType::i32: return v.as<int32_t>()[i];
    case DType::u64: return static_cast<int64_t>(v.as<uint64_t>()[i]);
    default: return static_cast<int64_t>(view_get_f64(v, i));
  }
}

}  // namespace ep
