#include "edgepipe/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace ep {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

const char* descr_of(DType t) {
  switch (t) {
    case DType::f32: return "<f4";
    case DType::f64: return "<f8";
    case DType::f16: return "<f2";
    case DType::i8: return "|i1";
    case DType::u8: return "|u1";
    case DType::i16: return "<i2";
    case DType::u16: return "<u2";
    case DType::i32: return "<i4";
    case DType::u32: return "<u4";
    case DType::i64: return "<i8";
    case DType::u64: return "<u8";
    case DType::boolean: return "|b1";
    default: return nullptr;
  }
}

DType dtype_of_descr(const std::string& d) {
  for (DType t : {DType::f32, DType::f64, DType::f16, DType::i8, DType::u8, DType::i16, DType::u16, DType::i32,
                  DType::u32, DType::i64, DType::u64, DType::boolean}) {
    const std::string want = descr_of(t);
    // Single-byte types may be written with '|' or '<' or '='.
    if (d == want || (d.size() == 3 && want.size() == 3 && d.substr(1) == want.substr(1) &&
                      (d[0] == '=' || (want[0] == '|' && d[0] == '<'))))
      return t;
  }
  return DType::undefined;
}

// Extracts the value text after 'key': in the header dict.
bool dict_value(const std::string& h, const std::string& key, std::string& out) {
  const size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) return false;
  size_t p = h.find(':', k);
  if (p == std::string::npos) return false;
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  if (p >= h.size()) return false;
  size_t end;
  if (h[p] == '\'') {
    end = h.find('\'', p + 1);
    if (end == std::string::npos) return false;
    out = h.substr(p + 1, end - p - 1);
  } else if (h[p] == '(') {
    end = h.find(')', p);
    if (end == std::string::npos) return false;
    out = h.substr(p + 1, end - p - 1);
  } else {
    end = h.find_first_of(",}", p);
    if (end == std::string::npos) return false;
    out = h.substr(p, end - p);
  }
  return true;
}

}  // namespace

Result<Tensor> npy_parse(const std::string& bytes, const std::string& where) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0)
    return invalid_argument(where, ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len, header_start;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return invalid_argument(where, ": truncated header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    return invalid_argument(where, ": unsupported .npy version ", major);
  }
  if (header_len > bytes.size() - header_start) return invalid_argument(where, ": header length ", header_len, " exceeds file size");
  const std::string h = bytes.substr(header_start, header_len);
  std::string descr, fortran, shape_text;
  if (!dict_value(h, "descr", descr) || !dict_value(h, "fortran_order", fortran) || !dict_value(h, "shape", shape_text))
    return invalid_argument(where, ": header lacks descr, fortran_order or shape");
  const DType dtype = dtype_of_descr(descr);
  if (dtype == DType::undefined) return invalid_argument(where, ": unsupported dtype '", descr, "'");
  if (fortran.find("True") != std::string::npos) return invalid_argument(where, ": Fortran-order arrays are not supported");
  std::vector<int64_t> dims;
  std::stringstream ss(shape_text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    const std::string num = item.substr(b, item.find_last_not_of(' ') - b + 1);
    if (num.empty() || num.size() > 15 || num.find_first_not_of("0123456789") != std::string::npos)
      return invalid_argument(where, ": bad shape entry '", num, "'");
    dims.push_back(std::stoll(num));
  }
  const Shape shape(dims);
  EP_ASSIGN_OR_RETURN(int64_t n, checked_numel(shape));
  const size_t data_start = header_start + header_len;
  const size_t have = bytes.size() - data_start;
  if (static_cast<uint64_t>(n) > have / dtype_size(dtype) + 1 || static_cast<size_t>(n) * dtype_size(dtype) != have)
    return invalid_argument(where, ": shape ", shape.to_string(), " of ", dtype_name(dtype), " needs ",
                            static_cast<uint64_t>(n) * dtype_size(dtype), " bytes, file holds ", have);
  EP_ASSIGN_OR_RETURN(Tensor t, Tensor::create(dtype, shape));
  if (have) std::memcpy(t.data(), bytes.data() + data_start, have);
  return t;
}

Result<Tensor> npy_read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("cannot open '", path, "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  return npy_parse(ss.str(), "'" + path + "'");
}

std::string npy_serialize(const TensorView& t) {
  const char* descr = descr_of(t.dtype == DType::bf16 ? DType::u16 : t.dtype);
  std::string shape = "(";
  for (size_t i = 0; i < t.shape.rank(); ++i) shape += std::to_string(t.shape[i]) + (t.shape.rank() == 1 ? "," : (i + 1 < t.shape.rank() ? ", " : ""));
  shape += ")";
  std::string header = std::string("{'descr': '") + (descr ? descr : "|u1") + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(static_cast<const char*>(t.data), t.nbytes());
  return out;
}

Status npy_write(const std::string& path, const TensorView& tensor) {
  std::ofstream f(path, std::ios::binary);
  if (!f) return io_error("cannot write '", path, "'");
  const std::string bytes = npy_serialize(tensor);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) return io_error("write to '", path, "' failed");
  return Status::ok();
}

}  // namespace ep
