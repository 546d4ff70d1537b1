// A steady-state Session::run allocates nothing on the fast paths: global operator new is
// counted around run() (a separate binary: it replaces the global allocator). Allocations
// inside oneDNN 2.6's own dnnl_primitive_execute are not ours to remove and are excluded.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <random>

#include "edgepipe/session.h"
#include "kernels/onednn/context.h"
#include "kernels/onednn/onednn_kernels.h"
#include "onnx/model_builder.h"
#include "onnx/qdq_models.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<int64_t> g_allocations{0};
}  // namespace

void* operator new(size_t n) {
  if (g_counting.load(std::memory_order_relaxed) && !ep::kernels::onednn::executing())
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace ep {
namespace {

int64_t allocations_in_steady_run(const Model& model, const SessionOptions& opt) {
  auto session = Session::create(model, opt);
  EXPECT_TRUE(session.is_ok()) << session.status().to_string();
  if (!session) return -1;
  std::vector<Tensor> ins, outs;
  std::vector<TensorView> in_views, out_views;
  std::mt19937 rng(1);
  for (const IoInfo& io : session->inputs()) {
    ins.emplace_back(io.dtype, io.shape);
    for (int64_t i = 0; i < ins.back().numel(); ++i) ins.back().as<float>()[i] = static_cast<float>(rng() % 100) / 50.f - 1.f;
    in_views.push_back(ins.back().view());
  }
  for (const IoInfo& io : session->outputs()) {
    outs.emplace_back(io.dtype, io.shape);
    out_views.push_back(outs.back().view());
  }
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(session->run(in_views, out_views).is_ok());  // warm-up: lazy init is allowed
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(session->run(in_views, out_views).is_ok());
  g_counting = false;
  return g_allocations.load();
}

TEST(Allocation, ConvReluRunAllocatesNothing) {
  const std::string bytes = test_models::serialize(test_models::conv_relu_model());
  auto model = Model::load_from_memory(bytes.data(), bytes.size());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  for (int threads : {1, 2}) {
    SessionOptions opt;
    opt.threads = threads;
    EXPECT_EQ(allocations_in_steady_run(*model, opt), 0) << threads << " thread(s)";
  }
}

// Calibration exposes intermediate tensors as extra outputs: the run stays allocation-free.
TEST(Allocation, ExtraOutputsRunAllocatesNothing) {
  const std::string bytes = test_models::serialize(test_models::conv_relu_model());
  auto model = Model::load_from_memory(bytes.data(), bytes.size());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  SessionOptions opt;
  opt.extra_outputs = {"C"};
  EXPECT_EQ(allocations_in_steady_run(*model, opt), 0);
}

// A QDQ model on int8 kernels, and a bf16 session (with its f32 -> bf16 input conversion).
TEST(Allocation, Int8AndBf16RunsAllocateNothing) {
  const std::string qdq = test_models::serialize(test_models::qdq_conv_chain_model(true));
  auto int8 = Model::load_from_memory(qdq.data(), qdq.size());
  ASSERT_TRUE(int8.is_ok()) << int8.status().to_string();
  EXPECT_EQ(allocations_in_steady_run(*int8, SessionOptions{}), 0) << "int8";
  if (!kernels::onednn_has_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  const std::string f32 = test_models::serialize(test_models::conv_relu_model());
  auto model = Model::load_from_memory(f32.data(), f32.size());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  SessionOptions opt;
  opt.precision = "bf16";
  EXPECT_EQ(allocations_in_steady_run(*model, opt), 0) << "bf16";
}

// An expand 1x1 and a stride-2 depthwise over 2.5 MB of expanded tensor: one
// edgepipe.FusedConvDepthwise step in bands on CPUs without AVX-512 (the run moves shared rows
// within its scratch and binds per-band memories, all made in prepare).
TEST(Allocation, ExpandDepthwiseBandsAllocateNothing) {
  using namespace test_models;
  onnx::ModelProto m = new_model(13);
  add_input(m, "x", {1, 16, 96, 100});
  add_init(m, "we", {64, 16, 1, 1});
  add_init(m, "be", {64});
  attr_ints(add_node(m, "Conv", {"x", "we", "be"}, {"e"}, "expand"), "kernel_shape", {1, 1});
  add_node(m, "Relu", {"e"}, {"er"}, "relu");
  add_init(m, "wd", {64, 1, 3, 3});
  add_init(m, "bd", {64});
  auto* dw = add_node(m, "Conv", {"er", "wd", "bd"}, {"y"}, "dw");
  attr_ints(dw, "kernel_shape", {3, 3});
  attr_ints(dw, "pads", {1, 1, 1, 1});
  attr_ints(dw, "strides", {2, 2});
  attr_int(dw, "group", 64);
  add_output(m, "y", TP::FLOAT, {1, 64, 48, 50});
  const std::string bytes = serialize(m);
  auto model = Model::load_from_memory(bytes.data(), bytes.size());
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  for (int threads : {1, 2}) {
    SessionOptions opt;
    opt.threads = threads;
    opt.profile = true;
    if (kernels::onednn_without_avx512()) {
      auto session = Session::create(*model, opt);
      ASSERT_TRUE(session.is_ok()) << session.status().to_string();
      ASSERT_EQ(session->profile().size(), 3u);  // the layout transposes and the fused step
      EXPECT_EQ(session->profile()[1].op, "FusedConvDepthwise");
    }
    EXPECT_EQ(allocations_in_steady_run(*model, opt), 0) << threads << " thread(s)";
  }
}

// The real detector: every node on the oneDNN or fast CPU kernels.
TEST(Allocation, DetectorRunAllocatesNothing) {
  const std::string path = std::string(EP_SOURCE_DIR) + "/models/ch_PP-OCRv4_det_infer.onnx";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "run scripts/fetch-models.sh";
  auto model = Model::load(path);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  SessionOptions opt;
  opt.input_shapes["x"] = Shape{1, 3, 320, 320};
  EXPECT_EQ(allocations_in_steady_run(*model, opt), 0);
  if (!kernels::onednn_has_bf16()) return;
  opt.precision = "bf16";
  EXPECT_EQ(allocations_in_steady_run(*model, opt), 0) << "bf16";
}

}  // namespace
}  // namespace ep
