// Shards chained by the plan runner against the whole model (the oracle), on the real
// models; and plan.json validation. Model tests skip when models/ is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "partition/analysis.h"
#include "partition/plan.h"
#include "partition/runner.h"

namespace ep::partition {
namespace {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("ep_partition_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

// Unit node costs: the splits are arbitrary but deterministic, and need no profiling.
CostTable unit_costs(const ModelAnalysis& a, size_t k) {
  CostTable t;
  t.node_s.assign(k, std::vector<double>(a.nodes.size(), 1.0));
  t.cut_bytes.assign(a.cut_bytes.begin(), a.cut_bytes.end());
  t.cut_allowed = a.cut_allowed;
  return t;
}

double max_abs_error(const Tensor& x, const Tensor& y) {
  EXPECT_EQ(x.shape(), y.shape());
  double e = 0;
  for (int64_t i = 0; i < x.numel(); ++i)
    e = std::max(e, std::fabs(static_cast<double>(x.as<float>()[i]) - static_cast<double>(y.as<float>()[i])));
  return e;
}

struct Case {
  const char* file;
  const char* input;
  Shape shape;
};

// Splits at `bounds` (over the analysis' nodes), writes the plan, chains the shards and
// compares every output with the whole model's.
void check_chain(const Case& c, const Model& model, const ModelAnalysis& a, std::vector<size_t> bounds,
                 const std::string& dir) {
  const size_t k = bounds.size() - 1;
  const CostTable costs = unit_costs(a, k);
  const Split split = evaluate_split(costs, bounds);
  std::vector<Device> devices(k, Device{1, {}});
  auto plan = write_plan(std::string(EP_SOURCE_DIR) + "/models/" + c.file, a, split, devices, costs, Plan{}, dir);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  auto reread = read_plan(dir);
  ASSERT_TRUE(reread.is_ok()) << reread.status().to_string();
  Tensor x(DType::f32, c.shape);
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = d(rng);
  SessionOptions o;
  o.input_shapes = {{c.input, c.shape}};
  auto whole = Session::create(model, o);
  ASSERT_TRUE(whole.is_ok()) << whole.status().to_string();
  std::vector<Tensor> xs;
  xs.push_back(x.clone());
  auto expect = whole->run(xs);
  ASSERT_TRUE(expect.is_ok());
  // With NHWC hand-over the last stage runs no Transpose at its inputs: fewer steps.
  auto last = Model::load(dir + "/" + reread->stages.back().shard);
  ASSERT_TRUE(last.is_ok());
  SessionOptions nhwc;
  for (const PlanTensor& t : reread->stages.back().inputs)
    if (t.shape.rank() == 4 && t.name != c.input) nhwc.nhwc_io.insert(t.name);
  auto plain_session = Session::create(*last, SessionOptions{});
  auto nhwc_session = Session::create(*last, nhwc);
  ASSERT_TRUE(plain_session.is_ok() && nhwc_session.is_ok()) << nhwc_session.status().to_string();
  if (!nhwc.nhwc_io.empty()) {
    EXPECT_LT(nhwc_session->num_steps(), plain_session->num_steps()) << c.file;
  }
  for (const char* layout : {"nhwc", "nchw"}) {  // tensors handed over in the kernels' layout, or as declared
    reread->handover_layout = layout;
    auto runner = PlanRunner::create(*reread, dir, /*pin=*/false);
    ASSERT_TRUE(runner.is_ok()) << runner.status().to_string();
    auto got = (*runner)->run_once(xs);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    ASSERT_EQ(got->size(), expect->size());
    for (size_t i = 0; i < got->size(); ++i) {
      const double e = max_abs_error((*got)[i], (*expect)[i]);
      EXPECT_LE(e, 1e-6) << c.file << " output " << i << " with " << k << " stages, " << layout;
      std::printf("%s, %zu stages (%s hand-over), cuts", c.file, k, layout);
      for (size_t s = 1; s < k; ++s) std::printf(" %zu (%zu tensors)", bounds[s], a.crossing[bounds[s]].size());
      std::printf(": output %zu max abs error %.3g\n", i, e);
    }
  }
}

class ModelShards : public ::testing::TestWithParam<Case> {};

TEST_P(ModelShards, ChainedShardsReproduceTheWholeModel) {
  const Case& c = GetParam();
  const std::string path = std::string(EP_SOURCE_DIR) + "/models/" + c.file;
  if (!fs::exists(path)) GTEST_SKIP() << path << " is missing (scripts/fetch-models.sh)";
  auto model = Model::load(path);
  ASSERT_TRUE(model.is_ok()) << model.status().to_string();
  auto a = analyze_model(*model, {{c.input, c.shape}});
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  std::vector<size_t> allowed;
  for (size_t p = 1; p < a->nodes.size(); ++p)
    if (a->cut_allowed[p]) allowed.push_back(p);
  ASSERT_GE(allowed.size(), 3u);
  // The cut crossed by the most tensors (skip connections), and a 4-stage split around it.
  const size_t widest = *std::max_element(allowed.begin(), allowed.end(), [&](size_t x, size_t y) {
    return a->crossing[x].size() < a->crossing[y].size();
  });
  const std::string dir = temp_dir(fs::path(c.file).stem().string());
  check_chain(c, *model, *a, {0, widest, a->nodes.size()}, dir + "/two");
  std::vector<size_t> four = {0, allowed[allowed.size() / 4], allowed[allowed.size() / 2], allowed[allowed.size() * 3 / 4],
                              a->nodes.size()};
  if (std::find(four.begin(), four.end(), widest) == four.end()) four[2] = widest;
  std::sort(four.begin(), four.end());
  four.erase(std::unique(four.begin(), four.end()), four.end());
  check_chain(c, *model, *a, four, dir + "/four");
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(RealModels, ModelShards,
                         ::testing::Values(Case{"ch_PP-OCRv4_det_infer.onnx", "x", Shape{1, 3, 640, 640}},
                                           Case{"ch_PP-OCRv4_rec_infer.onnx", "x", Shape{1, 3, 48, 320}},
                                           Case{"resnet50.onnx", "input", Shape{1, 3, 224, 224}}),
                         [](const auto& info) { return std::string(info.index == 0 ? "det" : info.index == 1 ? "rec" : "resnet50"); });

// --- plan.json is untrusted ---

std::string minimal_plan(const std::string& shard, const std::string& extra_input = "") {
  return R"({"format":"edgepipe-partition-plan","version":1,"source_model":"m.onnx","input_shapes":{},
    "objective":"throughput","link":{"bytes_per_s":0,"latency_s":0},"contention_factor":1,"whole_model_ms":1,
    "predicted":{"bottleneck_ms":1,"latency_ms":1},"cut_rule":"",
    "graph_inputs":[{"name":"x","dtype":"f32","shape":[1,4]}],
    "graph_outputs":[{"name":"y","dtype":"f32","shape":[1,4]}],
    "stages":[{"shard":")" + shard + R"(","device":{"threads":1,"cores":[0]},"predicted_ms":1,
      "inputs":[{"name":")" + (extra_input.empty() ? "x" : extra_input) + R"(","dtype":"f32","shape":[1,4]}],
      "outputs":[{"name":"y","dtype":"f32","shape":[1,4]}]}],
    "cuts":[],"handover_layout":"nhwc"})";
}

TEST(PlanFile, Validated) {
  const std::string dir = temp_dir("plan");
  std::ofstream(dir + "/s.onnx") << "x";
  EXPECT_TRUE(parse_plan(minimal_plan("s.onnx"), dir).is_ok());
  const std::pair<std::string, std::string> bad[] = {
      {"not json", "not a JSON object"},
      {minimal_plan("../s.onnx"), "plain file name"},
      {minimal_plan("/etc/passwd.onnx"), "plain file name"},
      {minimal_plan("missing.onnx"), "missing"},
      {minimal_plan("s.onnx", "z"), "no earlier stage produces"},
      {R"({"format":"edgepipe-partition-plan","version":2})", "version"},
      {R"({"format":"other","version":1})", "not a partition plan"},
  };
  for (const auto& [text, needle] : bad) {
    auto p = parse_plan(text, dir);
    ASSERT_FALSE(p.is_ok()) << text;
    EXPECT_NE(p.status().to_string().find(needle), std::string::npos) << p.status().to_string();
  }
  // A symbolic link that leads out of the folder is refused too.
  fs::create_symlink("/etc/hostname", dir + "/link.onnx");
  EXPECT_FALSE(parse_plan(minimal_plan("link.onnx"), dir).is_ok());
  // Huge shapes are refused before anything is allocated.
  std::string huge = minimal_plan("s.onnx");
  huge.replace(huge.find("[1,4]"), 5, "[1000000,1000000,1000000]");
  EXPECT_FALSE(parse_plan(huge, dir).is_ok());
  // Shapes each allowed alone that add up to more than a frame may hold.
  std::string big = minimal_plan("s.onnx");
  for (size_t pos = 0; (pos = big.find("[1,4]", pos)) != std::string::npos;) big.replace(pos, 5, "[1,100000,100000]");
  auto b = parse_plan(big, dir);
  ASSERT_FALSE(b.is_ok());
  EXPECT_NE(b.status().to_string().find("a frame would hold"), std::string::npos) << b.status().to_string();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ep::partition
