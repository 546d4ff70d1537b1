// NumPy .npy files (format 1.0-3.0, little-endian, C order): the I/O format of `edgepipe infer`.
#pragma once

#include <string>

#include "edgepipe/tensor.h"

namespace ep {

// Parses and validates the header before allocating; errors name the file.
Result<Tensor> npy_read(const std::string& path);
Result<Tensor> npy_parse(const std::string& bytes, const std::string& where = "npy");
Status npy_write(const std::string& path, const TensorView& tensor);
std::string npy_serialize(const TensorView& tensor);

}  // namespace ep
