// Small ONNX models for the node tests, written to a folder a node serves, and the local
// (one-process) results the nodes must reproduce.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "edgepipe/session.h"
#include "onnx/model_builder.h"

namespace ep::dist::testing {

namespace tm = ep::test_models;

// stage1: X 1x2x5x5 -> Relu(Conv 3x3) -> Y 1x4x5x5 (the builder's conv_relu_model)
// stage2: Y 1x4x5x5 -> Sigmoid(Conv 1x1, 4->3) -> Z 1x3x5x5
// head:   feat 1x4x5x5 -> Sigmoid -> P: a model whose input name differs from stage1's output
inline onnx::ModelProto stage2_model() {
  onnx::ModelProto m = tm::new_model();
  tm::add_input(m, "Y", {1, 4, 5, 5});
  tm::add_init(m, "W2", {3, 4, 1, 1});
  auto* conv = tm::add_node(m, "Conv", {"Y", "W2"}, {"C2"}, "conv2");
  tm::attr_ints(conv, "kernel_shape", {1, 1});
  tm::add_node(m, "Sigmoid", {"C2"}, {"Z"}, "sigmoid");
  tm::add_output(m, "Z", tm::TP::FLOAT, {1, 3, 5, 5});
  return m;
}
inline onnx::ModelProto head_model() {
  onnx::ModelProto m = tm::new_model();
  tm::add_input(m, "feat", {1, 4, 5, 5});
  tm::add_node(m, "Sigmoid", {"feat"}, {"P"}, "sigmoid");
  tm::add_output(m, "P", tm::TP::FLOAT, {1, 4, 5, 5});
  return m;
}

inline void write_model(const std::filesystem::path& path, const onnx::ModelProto& m) {
  std::ofstream(path, std::ios::binary) << tm::serialize(m);
}

// A fresh folder under the temp dir, removed afterwards.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("ep_dist_test_" + std::to_string(::getpid()) + "_" + name)) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string str(const std::string& file = "") const { return (file.empty() ? path : path / file).string(); }
};

// Writes stage1.onnx, stage2.onnx and head.onnx into `dir`.
inline void write_models(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  write_model(dir / "stage1.onnx", tm::conv_relu_model());
  write_model(dir / "stage2.onnx", stage2_model());
  write_model(dir / "head.onnx", head_model());
}

inline Tensor input_x() {
  std::vector<float> v(50);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(static_cast<int>(i * 7 % 11) - 5) * 0.3f;
  return Tensor::from_vector<float>({1, 2, 5, 5}, v);
}

// Runs the models in `names` one after another in this process (outputs feed inputs by position).
inline std::vector<Tensor> run_local(const std::filesystem::path& dir, const std::vector<std::string>& names, Tensor x) {
  std::vector<Tensor> cur;
  cur.push_back(std::move(x));
  for (const std::string& n : names) {
    auto model = Model::load((dir / (n + ".onnx")).string());
    EP_CHECK(model.is_ok());
    auto session = Session::create(*model);
    EP_CHECK(session.is_ok());
    auto out = session->run(cur);
    EP_CHECK(out.is_ok());
    cur = std::move(out).value();
  }
  return cur;
}

}  // namespace ep::dist::testing
