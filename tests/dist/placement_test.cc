// A partition plan placed on two nodes in this process, the second behind a link emulator:
// the chained result must equal the whole model's, for both hand-over layouts; LOAD's
// nhwc_io is checked; the remote prediction adds the outputs' way back.
#include <gtest/gtest.h>

#include <cstring>

#include "dist/link_emulator.h"
#include "dist/node.h"
#include "dist/placement.h"
#include "dist_models.h"
#include "partition/analysis.h"

namespace ep::dist {
namespace {

using testing::TempDir;
namespace tm = ep::test_models;

// X 1x3x16x16 -> conv1+relu = A; A -> conv2+relu = B; A -> conv3+relu = C; concat(B, C) ->
// conv4 -> sigmoid = Y 1x1x16x16. A cut after B is crossed by A and B.
onnx::ModelProto branchy_model() {
  onnx::ModelProto m = tm::new_model();
  tm::add_input(m, "X", {1, 3, 16, 16});
  auto conv = [&](const std::string& name, const std::string& in, const std::string& out, std::vector<int64_t> w, int k) {
    tm::add_init(m, name + ".w", w);
    auto* n = tm::add_node(m, "Conv", {in, name + ".w"}, {name + ".c"}, name);
    tm::attr_ints(n, "kernel_shape", {k, k});
    if (k == 3) tm::attr_ints(n, "pads", {1, 1, 1, 1});
    tm::add_node(m, "Relu", {name + ".c"}, {out}, name + ".relu");
  };
  conv("conv1", "X", "A", {8, 3, 3, 3}, 3);
  conv("conv2", "A", "B", {4, 8, 3, 3}, 3);
  conv("conv3", "A", "C", {4, 8, 1, 1}, 1);
  auto* cat = tm::add_node(m, "Concat", {"B", "C"}, {"D"}, "concat");
  tm::attr_int(cat, "axis", 1);
  tm::add_init(m, "conv4.w", {1, 8, 1, 1});
  auto* c4 = tm::add_node(m, "Conv", {"D", "conv4.w"}, {"E"}, "conv4");
  tm::attr_ints(c4, "kernel_shape", {1, 1});
  tm::add_node(m, "Sigmoid", {"E"}, {"Y"}, "sigmoid");
  tm::add_output(m, "Y", tm::TP::FLOAT, {1, 1, 16, 16});
  return m;
}

struct Planned {
  partition::Plan plan;
  std::string dir, model;
};

// Two stages cut where the most tensors cross, with unit node costs and a slow link.
Planned make_plan(const TempDir& tmp) {
  Planned p;
  p.model = tmp.str("model.onnx");
  p.dir = tmp.str("plan");
  testing::write_model(p.model, branchy_model());
  auto model = Model::load(p.model);
  EP_CHECK(model.is_ok());
  auto a = partition::analyze_model(*model, {{"X", Shape{1, 3, 16, 16}}});
  EP_CHECK_MSG(a.is_ok(), a.status().to_string().c_str());
  const size_t n = a->nodes.size();
  size_t cut = 0;
  for (size_t q = 1; q < n; ++q)
    if (a->cut_allowed[q] && (cut == 0 || a->crossing[q].size() > a->crossing[cut].size())) cut = q;
  EP_CHECK(cut > 0 && a->crossing[cut].size() >= 2);
  partition::CostTable costs;
  costs.node_s.assign(2, std::vector<double>(n, 1e-3));
  costs.cut_bytes.assign(a->cut_bytes.begin(), a->cut_bytes.end());
  costs.cut_allowed = a->cut_allowed;
  costs.link = {1e6, 0.002};
  const partition::Split split = partition::evaluate_split(costs, {0, cut, n});
  partition::Plan header;
  header.link = costs.link;
  auto plan = partition::write_plan(p.model, *a, split, {{1, {}}, {1, {}}}, costs, header, p.dir);
  EP_CHECK_MSG(plan.is_ok(), plan.status().to_string().c_str());
  auto read = partition::read_plan(p.dir);
  EP_CHECK(read.is_ok());
  p.plan = *read;
  return p;
}

Tensor input() {
  Tensor x(DType::f32, Shape{1, 3, 16, 16});
  for (int64_t i = 0; i < x.numel(); ++i) x.as<float>()[i] = static_cast<float>(i * 37 % 101) / 50.f - 1.f;
  return x;
}

Tensor whole_model(const std::string& path, const Tensor& x) {
  auto model = Model::load(path);
  EP_CHECK(model.is_ok());
  auto s = Session::create(*model);
  EP_CHECK(s.is_ok());
  std::vector<Tensor> in;
  in.push_back(x.clone());
  auto out = s->run(in);
  EP_CHECK(out.is_ok());
  return std::move((*out)[0]);
}

std::unique_ptr<Node> start_node() {
  NodeOptions o;
  o.log = [](const std::string&) {};
  auto n = Node::start(o);
  EP_CHECK_MSG(n.is_ok(), n.status().to_string().c_str());
  return std::move(n).value();
}

TEST(Placement, ShardsOnTwoNodesBehindAnEmulatedLinkEqualTheWholeModel) {
  TempDir tmp("placement");
  Planned p = make_plan(tmp);
  ASSERT_EQ(p.plan.stages.size(), 2u);
  ASSERT_GE(p.plan.cuts[0].tensors.size(), 2u);
  const Tensor x = input();
  const Tensor want = whole_model(p.model, x);
  auto a = start_node(), b = start_node();
  LinkParams link;
  link.delay_ns = 1'000'000;
  link.bandwidth_bytes_per_s = 50e6;
  auto emu = LinkEmulator::start("tcp://127.0.0.1:*", b->endpoint(), link, link);
  ASSERT_TRUE(emu.is_ok()) << emu.status().to_string();
  for (const char* layout : {"nhwc", "nchw"}) {
    p.plan.handover_layout = layout;
    std::vector<PlacementTarget> targets(2);
    targets[0].node.address = a->endpoint();
    targets[1].node.address = b->endpoint();
    targets[1].via = (*emu)->endpoint();
    auto placed = place_plan(p.plan, p.dir, targets, std::string("t_") + layout);
    ASSERT_TRUE(placed.is_ok()) << placed.status().to_string();
    ASSERT_EQ(placed->route.size(), 1u);
    EXPECT_EQ(placed->route[0].address(), (*emu)->endpoint());
    ClientOptions co;
    co.address = a->endpoint();
    auto client = Client::connect(co);
    ASSERT_TRUE(client.is_ok());
    auto r = client->infer(placed->models[0], {{"X", x.view()}}, placed->route);
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    ASSERT_EQ(r->tensors.size(), 1u);
    EXPECT_EQ(r->tensors[0].name, "Y");
    ASSERT_EQ(r->tensors[0].view.shape, want.shape()) << layout;
    EXPECT_EQ(std::memcmp(r->tensors[0].view.data, want.data(), want.nbytes()), 0) << layout;
    ASSERT_EQ(r->header.hops_size(), 2);
    // The cut's tensors crossed the emulated link: it took at least its delay.
    EXPECT_GE(r->header.hops(1).recv_ns() - r->header.hops(0).send_ns(), link.delay_ns) << layout;
    // With NHWC hand-over the second shard's inputs are declared to the node as NHWC.
    const auto& info = placed->info[1];
    EXPECT_EQ(info.name(), std::string("t_") + layout + ".shard_1");
  }
  EXPECT_GE((*emu)->counters().forwarded, 4u);  // two requests in, two replies out
}

TEST(Placement, LoadRefusesNhwcNamesThatAreNotRank4InputsOrOutputs) {
  TempDir tmp("placement_nhwc");
  auto node = start_node();
  ClientOptions co;
  co.address = node->endpoint();
  auto client = Client::connect(co);
  ASSERT_TRUE(client.is_ok());
  const std::string bytes = tm::serialize(tm::conv_relu_model());
  auto missing = client->load("m", bytes, {"nope"});
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("nhwc_io 'nope' is not an input or output"), std::string::npos)
      << missing.status().to_string();
  auto ok = client->load("m", bytes, {"X", "Y"});
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  // The NHWC input is bound in NCHW order: a 1x5x5x2 tensor is the model's 1x2x5x5.
  Tensor x = testing::input_x();
  Tensor nhwc(DType::f32, Shape{1, 5, 5, 2});
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t i = 0; i < 25; ++i) nhwc.as<float>()[i * 2 + c] = x.as<float>()[c * 25 + i];
  auto r = client->infer("m", {{"X", nhwc.view()}});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->tensors[0].view.shape, (Shape{1, 5, 5, 4}));
  auto model = Model::load_from_memory(bytes.data(), bytes.size());
  ASSERT_TRUE(model.is_ok());
  auto s = Session::create(*model);
  ASSERT_TRUE(s.is_ok());
  std::vector<Tensor> in;
  in.push_back(x.clone());
  auto ref = s->run(in);
  ASSERT_TRUE(ref.is_ok());
  const float* got = static_cast<const float*>(r->tensors[0].view.data);
  for (int64_t c = 0; c < 4; ++c)
    for (int64_t i = 0; i < 25; ++i) ASSERT_EQ(got[i * 4 + c], (*ref)[0].as<float>()[c * 25 + i]) << c << "," << i;
  // A model input that is not rank 4.
  auto bad = client->load("add", tm::serialize(tm::add_model()), {"X"});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("has rank 2, not 4"), std::string::npos) << bad.status().to_string();
}

TEST(Placement, NhwcNamesOnlyTravelWithLoad) {
  wire::Header h = make_header(wire::INFER, 1);
  h.set_model("m");
  h.add_nhwc_io("X");
  const Status st = validate_header(h, WireLimits{});
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("only a LOAD message"), std::string::npos) << st.to_string();
}

TEST(Placement, RemotePredictionAddsTheOutputsWayBackOverEachLink) {
  partition::Plan p;
  p.link = {1e6, 0.001};  // 1 MB/s, 1 ms
  p.stages.resize(3);
  p.stages[0].predicted_ms = 5;
  p.stages[1].predicted_ms = 7;
  p.stages[2].predicted_ms = 11;
  p.cuts.resize(2);
  p.cuts[0].predicted_link_ms = 3;
  p.cuts[1].predicted_link_ms = 4;
  p.graph_outputs.push_back({"y", DType::f32, Shape{1000}, 4000});
  const RemotePrediction r = predict_remote(p);
  EXPECT_DOUBLE_EQ(r.stages_ms, 23);
  EXPECT_DOUBLE_EQ(r.cuts_ms, 7);
  EXPECT_DOUBLE_EQ(r.return_ms, 2 * (4.0 + 1.0));  // 4000 bytes at 1 MB/s + 1 ms, over two links
  EXPECT_DOUBLE_EQ(r.total_ms(), 40);
}

}  // namespace
}  // namespace ep::dist
