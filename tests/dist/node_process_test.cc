// Two `edgepipe node` processes on loopback: A runs stage1 and forwards to B, which runs
// stage2; the result returns to the client and equals running both models in one process.
// Both nodes stop cleanly on SIGTERM (exit code 0).
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dist/client.h"
#include "edgepipe/npy.h"
#include "dist_models.h"

extern char** environ;

namespace ep::dist {
namespace {

struct NodeProcess {
  pid_t pid = -1;
  std::string endpoint, public_key;

  NodeProcess(const std::vector<std::string>& args, const std::string& ready_file) {
    std::vector<char*> argv;
    std::vector<std::string> all = {EP_EDGEPIPE_BIN, "node"};
    all.insert(all.end(), args.begin(), args.end());
    all.push_back("--ready-file");
    all.push_back(ready_file);
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    EP_CHECK(posix_spawn(&pid, EP_EDGEPIPE_BIN, nullptr, nullptr, argv.data(), environ) == 0);
    for (int i = 0; i < 1000 && endpoint.empty(); ++i) {  // the ready file appears once it serves
      std::ifstream f(ready_file);
      if (f) std::getline(f, endpoint), std::getline(f, public_key);
      else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // SIGTERM, then the exit status (0: a clean shutdown).
  int stop() {
    if (pid < 0) return -1;
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~NodeProcess() {
    if (pid > 0) stop();
  }
};

TEST(NodeProcess, TwoNodesChainTwoModelsLikeOneProcess) {
  testing::TempDir tmp("process");
  testing::write_models(tmp.path / "models");
  NodeProcess b({"--bind", "tcp://127.0.0.1:*", "--models", tmp.str("models"), "--name", "B"}, tmp.str("b.ready"));
  NodeProcess a({"--bind", "tcp://127.0.0.1:*", "--models", tmp.str("models"), "--name", "A"}, tmp.str("a.ready"));
  ASSERT_FALSE(a.endpoint.empty()) << "node A did not start";
  ASSERT_FALSE(b.endpoint.empty()) << "node B did not start";

  ClientOptions o;
  o.address = a.endpoint;
  auto c = Client::connect(o);
  ASSERT_TRUE(c.is_ok());
  Tensor x = testing::input_x();
  wire::Hop hop;
  hop.set_address(b.endpoint);
  hop.set_model("stage2");
  auto r = c->infer("stage1", {{"X", x.view()}}, {hop});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  const auto want = testing::run_local(tmp.path / "models", {"stage1", "stage2"}, x.clone());
  ASSERT_EQ(r->tensors.size(), 1u);
  ASSERT_EQ(r->tensors[0].view.nbytes(), want[0].nbytes());
  EXPECT_EQ(std::memcmp(r->tensors[0].view.data, want[0].data(), want[0].nbytes()), 0);
  ASSERT_EQ(r->header.hops_size(), 2);
  EXPECT_EQ(r->header.hops(0).node(), "A");
  EXPECT_EQ(r->header.hops(1).node(), "B");
  EXPECT_TRUE(r->header.hops(1).clock_offset_known());

  // The input in this process's shared memory: node A (another process) reads it in place.
  o.shm_bytes = x.nbytes();
  auto cs = Client::connect(o);
  ASSERT_TRUE(cs.is_ok()) << cs.status().to_string();
  auto in = cs->shm_tensor(x.dtype(), x.shape());
  ASSERT_TRUE(in.is_ok()) << in.status().to_string();
  std::memcpy(in->data, x.data(), x.nbytes());
  auto rs = cs->infer("stage1", {{"X", *in}}, {hop});
  ASSERT_TRUE(rs.is_ok()) << rs.status().to_string();
  ASSERT_EQ(rs->tensors.size(), 1u);
  ASSERT_EQ(rs->tensors[0].view.nbytes(), want[0].nbytes());
  EXPECT_EQ(std::memcmp(rs->tensors[0].view.data, want[0].data(), want[0].nbytes()), 0);

  EXPECT_EQ(a.stop(), 0);
  EXPECT_EQ(b.stop(), 0);
}

TEST(NodeProcess, NodeCallSendsNpyAlongARouteAndWritesTheResult) {
  testing::TempDir tmp("call");
  testing::write_models(tmp.path / "models");
  NodeProcess b({"--bind", "tcp://127.0.0.1:*", "--models", tmp.str("models"), "--name", "B"}, tmp.str("b.ready"));
  NodeProcess a({"--bind", "tcp://127.0.0.1:*", "--models", tmp.str("models"), "--name", "A"}, tmp.str("a.ready"));
  ASSERT_FALSE(a.endpoint.empty() || b.endpoint.empty()) << "a node did not start";
  Tensor x = testing::input_x();
  ASSERT_TRUE(npy_write(tmp.str("x.npy"), x.view()).is_ok());
  const std::string cmd = std::string(EP_EDGEPIPE_BIN) + " node-call " + a.endpoint + " --model stage1 --input X=" +
                          tmp.str("x.npy") + " --route " + b.endpoint + "=stage2 --output-dir " + tmp.str() + " --status";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto z = npy_read(tmp.str("Z.npy"));
  ASSERT_TRUE(z.is_ok()) << z.status().to_string();
  const auto want = testing::run_local(tmp.path / "models", {"stage1", "stage2"}, x.clone());
  ASSERT_EQ(z->nbytes(), want[0].nbytes());
  EXPECT_EQ(std::memcmp(z->data(), want[0].data(), want[0].nbytes()), 0);
  // The same through shared memory (--shm): the same result.
  std::filesystem::create_directories(tmp.path / "shm");
  const std::string shm_cmd = std::string(EP_EDGEPIPE_BIN) + " node-call " + a.endpoint + " --shm --model stage1 --input X=" +
                              tmp.str("x.npy") + " --route " + b.endpoint + "=stage2 --output-dir " + tmp.str("shm");
  ASSERT_EQ(std::system(shm_cmd.c_str()), 0) << shm_cmd;
  auto zs = npy_read(tmp.str("shm/Z.npy"));
  ASSERT_TRUE(zs.is_ok()) << zs.status().to_string();
  ASSERT_EQ(zs->nbytes(), want[0].nbytes());
  EXPECT_EQ(std::memcmp(zs->data(), want[0].data(), want[0].nbytes()), 0);
  EXPECT_EQ(a.stop(), 0);
  EXPECT_EQ(b.stop(), 0);
}

TEST(NodeProcess, KeygenWritesASecretOnlyTheOwnerReads) {
  testing::TempDir tmp("keygen");
  const std::string cmd = std::string(EP_EDGEPIPE_BIN) + " keygen -o " + tmp.str("k") + " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const auto perms = std::filesystem::status(tmp.path / "k" / "secret.key").permissions();
  EXPECT_EQ(perms, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto keys = keypair_read(tmp.str("k"));
  ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
  EXPECT_NE(std::system(cmd.c_str()), 0);  // never overwrites a secret key
}

}  // namespace
}  // namespace ep::dist
