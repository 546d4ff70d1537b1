// TensorProto -> Tensor, shared by the importer and the test-data reader.
#pragma once

#include <string>

#include "edgepipe/tensor.h"
#include "onnx/onnx_pb.h"

namespace ep::onnx_import {

Result<DType> dtype_from_onnx(int onnx_type, const std::string& where);
// `base_dir` confines external data; "" forbids it.
Result<Tensor> tensor_from_proto(const onnx::TensorProto& proto, const std::string& base_dir, const std::string& where);

}  // namespace ep::onnx_import
