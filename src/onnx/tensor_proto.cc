#include "onnx/tensor_proto.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "onnx/import.h"

namespace ep::onnx_import {
namespace fs = std::filesystem;

Result<DType> dtype_from_onnx(int t, const std::string& where) {
  using TP = onnx::TensorProto;
  switch (t) {
    case TP::FLOAT: return DType::f32;
    case TP::FLOAT16: return DType::f16;
    case TP::BFLOAT16: return DType::bf16;
    case TP::DOUBLE: return DType::f64;
    case TP::INT8: return DType::i8;
    case TP::UINT8: return DType::u8;
    case TP::INT16: return DType::i16;
    case TP::UINT16: return DType::u16;
    case TP::INT32: return DType::i32;
    case TP::UINT32: return DType::u32;
    case TP::INT64: return DType::i64;
    case TP::UINT64: return DType::u64;
    case TP::BOOL: return DType::boolean;
    case TP::STRING: return unsupported(where, ": string tensors are not supported");
    case TP::COMPLEX64:
    case TP::COMPLEX128: return unsupported(where, ": complex tensors are not supported");
    default: return invalid_model(where, ": unknown element type ", t);
  }
}

namespace {

// Reads external data, confined to base_dir: no absolute paths, no escape through '..' or links.
Status read_external(const onnx::TensorProto& p, const std::string& base_dir, const std::string& where,
                     size_t want, void* dst) {
  if (base_dir.empty()) return invalid_model(where, ": external data is not allowed for a model loaded from memory");
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto& kv : p.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      const std::string& v = kv.value();
      if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
        return invalid_model(where, ": external data ", kv.key(), " '", v, "' is not a non-negative integer");
      (kv.key() == "offset" ? offset : length) = std::stoll(v);
    }
  }
  if (location.empty()) return invalid_model(where, ": external data has no location");
  const fs::path rel(location);
  if (rel.is_absolute() || location.find('\0') != std::string::npos)
    return invalid_model(where, ": external data location '", location, "' must be relative to the model's folder");
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(fs::path(base_dir), ec);
  const fs::path full = fs::weakly_canonical(base / rel, ec);
  if (ec) return invalid_model(where, ": external data location '", location, "' cannot be resolved");
  const std::string b = base.string() + "/", f = full.string();
  if (f.compare(0, b.size(), b) != 0)
    return invalid_model(where, ": external data location '", location, "' escapes the model's folder");
  if (!fs::is_regular_file(full, ec)) return io_error(where, ": external data file '", location, "' not found");
  const uint64_t fsize = fs::file_size(full, ec);
  if (ec) return io_error(where, ": cannot stat external data file '", location, "'");
  if (length >= 0 && static_cast<uint64_t>(length) != want)
    return invalid_model(where, ": external data length ", length, " does not match the tensor's ", want, " bytes");
  if (static_cast<uint64_t>(offset) > fsize || fsize - static_cast<uint64_t>(offset) < want)
    return invalid_model(where, ": external data '", location, "' holds ", fsize, " bytes, need ", want, " at offset ", offset);
  std::ifstream in(full, std::ios::binary);
  in.seekg(offset);
  in.read(static_cast<char*>(dst), static_cast<std::streamsize>(want));
  if (!in) return io_error(where, ": reading external data '", location, "' failed");
  return Status::ok();
}

template <typename Src, typename Field>
Status copy_typed(const Field& field, int64_t n, const std::string& where, const char* name, Src* dst) {
  if (field.size() != n) return invalid_model(where, ": ", name, " holds ", field.size(), " values, shape needs ", n);
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<Src>(field.Get(static_cast<int>(i)));
  return Status::ok();
}

}  // namespace

namespace {

// ONNX 1.16's UINT4 and INT4 (libonnx 1.12's enum predates them): two values per byte, the
// first in the low nibble. They become one value per u8/i8 element, which is what
// DequantizeLinear reads; only raw_data is accepted for them.
constexpr int kOnnxUint4 = 21;
constexpr int kOnnxInt4 = 22;

Result<Tensor> int4_from_proto(const onnx::TensorProto& p, const Shape& shape, int64_t n, const std::string& where) {
  const bool is_signed = p.data_type() == kOnnxInt4;
  if (p.data_location() == onnx::TensorProto::EXTERNAL || !p.has_raw_data())
    return unsupported(where, ": 4-bit tensors are read from raw_data only");
  const size_t packed = static_cast<size_t>(n / 2 + n % 2);
  if (p.raw_data().size() != packed)
    return invalid_model(where, ": raw_data holds ", p.raw_data().size(), " bytes, shape ", shape.to_string(),
                         " of 4-bit values needs ", packed);
  EP_ASSIGN_OR_RETURN(Tensor t, Tensor::create(is_signed ? DType::i8 : DType::u8, shape));
  const auto* src = reinterpret_cast<const uint8_t*>(p.raw_data().data());
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t nibble = (src[i / 2] >> (4 * (i % 2))) & 0x0f;
    if (is_signed) t.as<int8_t>()[i] = static_cast<int8_t>(nibble >= 8 ? nibble - 16 : nibble);
    else t.as<uint8_t>()[i] = nibble;
  }
  return t;
}

}  // namespace

Result<Tensor> tensor_from_proto(const onnx::TensorProto& p, const std::string& base_dir, const std::string& where0) {
  const std::string where = where0 + (p.name().empty() ? "" : " tensor '" + p.name() + "'");
  if (p.data_type() == kOnnxUint4 || p.data_type() == kOnnxInt4) {
    if (p.dims_size() > 32) return invalid_model(where, ": rank ", p.dims_size(), " is too large");
    std::vector<int64_t> dims(p.dims().begin(), p.dims().end());
    for (int64_t d : dims)
      if (d < 0) return invalid_model(where, ": negative dimension ", d);
    const Shape shape(dims);
    const Result<int64_t> numel = checked_numel(shape);
    if (!numel.is_ok()) return numel.status().with_context(where);
    if (static_cast<uint64_t>(numel.value()) / 2 > kMaxModelBytes)
      return invalid_model(where, ": shape ", shape.to_string(), " is larger than any model can hold");
    return int4_from_proto(p, shape, numel.value(), where);
  }
  EP_ASSIGN_OR_RETURN(DType dtype, dtype_from_onnx(p.data_type(), where));
  if (p.dims_size() > 32) return invalid_model(where, ": rank ", p.dims_size(), " is too large");
  std::vector<int64_t> dims(p.dims().begin(), p.dims().end());
  for (int64_t d : dims)
    if (d < 0) return invalid_model(where, ": negative dimension ", d);
  const Shape shape(dims);
  if (p.has_segment()) return unsupported(where, ": segmented tensors are not supported");
  const Result<int64_t> numel = checked_numel(shape);
  if (!numel.is_ok()) return numel.status().with_context(where);
  const int64_t n = numel.value();
  const size_t esize = dtype_size(dtype);
  if (static_cast<uint64_t>(n) > kMaxModelBytes / esize && p.data_location() != onnx::TensorProto::EXTERNAL)
    return invalid_model(where, ": shape ", shape.to_string(), " is larger than any model can hold");
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    if (static_cast<uint64_t>(n) > (uint64_t{1} << 38) / esize)
      return resource_exhausted(where, ": external tensor of shape ", shape.to_string(), " is too large");
    EP_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, shape));
    EP_RETURN_IF_ERROR(read_external(p, base_dir, where, t.nbytes(), t.data()));
    return t;
  }
  const size_t nbytes = static_cast<size_t>(n) * esize;
  if (p.has_raw_data()) {
    if (p.raw_data().size() != nbytes)
      return invalid_model(where, ": raw_data holds ", p.raw_data().size(), " bytes, shape ", shape.to_string(), " of ",
                           dtype_name(dtype), " needs ", nbytes);
    EP_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, shape));
    if (nbytes) std::memcpy(t.data(), p.raw_data().data(), nbytes);
    return t;
  }
  // Typed fields: validate the count before allocating.
  int64_t have = 0;
  switch (dtype) {
    case DType::f32: have = p.float_data_size(); break;
    case DType::f64: have = p.double_data_size(); break;
    case DType::i64: have = p.int64_data_size(); break;
    case DType::u32: case DType::u64: have = p.uint64_data_size(); break;
    default: have = p.int32_data_size(); break;
  }
  if (have != n) return invalid_model(where, ": holds ", have, " values, shape ", shape.to_string(), " needs ", n);
  EP_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, shape));
  switch (dtype) {
    case DType::f32: EP_RETURN_IF_ERROR(copy_typed(p.float_data(), n, where, "float_data", t.as<float>())); break;
    case DType::f64: EP_RETURN_IF_ERROR(copy_typed(p.double_data(), n, where, "double_data", t.as<double>())); break;
    case DType::i64: EP_RETURN_IF_ERROR(copy_typed(p.int64_data(), n, where, "int64_data", t.as<int64_t>())); break;
    case DType::u32: EP_RETURN_IF_ERROR(copy_typed(p.uint64_data(), n, where, "uint64_data", t.as<uint32_t>())); break;
    case DType::u64: EP_RETURN_IF_ERROR(copy_typed(p.uint64_data(), n, where, "uint64_data", t.as<uint64_t>())); break;
    case DType::i32: EP_RETURN_IF_ERROR(copy_typed(p.int32_data(), n, where, "int32_data", t.as<int32_t>())); break;
    case DType::i16: EP_RETURN_IF_ERROR(copy_typed(p.int32_data(), n, where, "int32_data", t.as<int16_t>())); break;
    case DType::u16: case DType::f16: case DType::bf16:  // 16-bit patterns stored in int32_data
      EP_RETURN_IF_ERROR(copy_typed(p.int32_data(), n, where, "int32_data", t.as<uint16_t>()));
      break;
    case DType::i8: EP_RETURN_IF_ERROR(copy_typed(p.int32_data(), n, where, "int32_data", t.as<int8_t>())); break;
    case DType::u8: EP_RETURN_IF_ERROR(copy_typed(p.int32_data(), n, where, "int32_data", t.as<uint8_t>())); break;
    case DType::boolean: {
      uint8_t* dst = t.as<uint8_t>();
      for (int64_t i = 0; i < n; ++i) dst[i] = p.int32_data(static_cast<int>(i)) != 0;
      break;
    }
    default: return unsupported(where, ": dtype ", dtype_name(dtype));
  }
  return t;
}

Result<Tensor> parse_tensor_proto(const std::string& bytes, const std::string& where) {
  onnx::TensorProto p;
  if (!p.ParseFromString(bytes)) return invalid_argument(where, ": not a serialized ONNX TensorProto");
  return tensor_from_proto(p, "", where);
}

}  // namespace ep::onnx_import
