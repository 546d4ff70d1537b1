// `edgepipe delta`, `edgepipe delta-apply`, `edgepipe update`: weight deltas between two
// versions of a model, applied to a file or sent to a node that spreads them by gossip.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "commands.h"
#include "dist/client.h"
#include "dist/delta.h"
#include "dist/keys.h"
#include "dist/model_host.h"

namespace ep::tools {

namespace {

Result<std::string> read_file(const std::string& path, size_t limit) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return io_error("'", path, "': cannot read (", ec.message(), ")");
  if (size > limit) return resource_exhausted("'", path, "': ", size, " bytes, limit ", limit);
  std::ifstream f(path, std::ios::binary);
  if (!f) return io_error("'", path, "': cannot open");
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

Status write_file(const std::string& path, const std::string& bytes) {
  // Written whole, then renamed: a reader never sees half a file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    f << bytes;
    if (!f) return io_error("'", tmp, "': cannot write");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return io_error("'", path, "': cannot write");
  return Status::ok();
}

constexpr size_t kModelLimit = size_t{2} << 30;

struct DeltaArgs {
  std::string old_path, new_path, output;
  dist::DeltaMakeOptions opt;
};

Status make(DeltaArgs& a) {
  if (a.opt.model.empty()) a.opt.model = std::filesystem::path(a.old_path).stem().string();
  EP_ASSIGN_OR_RETURN(std::string old_bytes, read_file(a.old_path, kModelLimit));
  EP_ASSIGN_OR_RETURN(std::string new_bytes, read_file(a.new_path, kModelLimit));
  dist::DeltaMakeStats st;
  EP_ASSIGN_OR_RETURN(dist::wire::ModelDelta d, dist::delta_make(old_bytes, new_bytes, a.opt, &st));
  const std::string env = dist::delta_encode(d);
  EP_RETURN_IF_ERROR(write_file(a.output, env));
  std::printf("delta %s: %zu of %zu changed elements in %d initializers, %zu bytes -> %s\n", dist::delta_name(d).c_str(), st.kept,
              st.changed, d.patches_size(), env.size(), a.output.c_str());
  if (st.exact())
    std::printf("exact: the patched model has the new model's weights (version %s; the new file is %s)\n", d.result_version().c_str(),
                dist::model_version(new_bytes.data(), new_bytes.size()).c_str());
  else
    std::printf("top-%zu: largest change left out %.6g\n", st.kept, st.largest_dropped);
  return Status::ok();
}

struct ApplyArgs {
  std::string base, delta, output;
};

Status apply(ApplyArgs& a) {
  EP_ASSIGN_OR_RETURN(std::string base, read_file(a.base, kModelLimit));
  EP_ASSIGN_OR_RETURN(std::string env, read_file(a.delta, dist::DeltaLimits{}.max_bytes));
  auto d = dist::delta_decode({reinterpret_cast<const uint8_t*>(env.data()), env.size()});
  if (!d.is_ok()) return d.status().with_context("'" + a.delta + "'");
  EP_ASSIGN_OR_RETURN(std::string out, dist::delta_apply(base, d->body));
  EP_RETURN_IF_ERROR(write_file(a.output, out));
  std::printf("applied %s -> %s (version %s)\n", dist::delta_name(d->body).c_str(), a.output.c_str(),
              dist::model_version(out.data(), out.size()).c_str());
  return Status::ok();
}

struct UpdateArgs {
  dist::ClientOptions opt;
  std::string server_key_file, delta;
};

Status update(UpdateArgs& a) {
  if (!a.server_key_file.empty()) {
    EP_ASSIGN_OR_RETURN(a.opt.server_key, dist::key_read(a.server_key_file));
  }
  EP_ASSIGN_OR_RETURN(std::string env, read_file(a.delta, a.opt.limits.max_delta_bytes));
  EP_ASSIGN_OR_RETURN(dist::Client client, dist::Client::connect(a.opt));
  EP_ASSIGN_OR_RETURN(dist::wire::NodeStatus s, client.update(env));
  std::printf("node %s took the delta: %llu applied, %llu waiting, %llu rejected\n", s.node().c_str(),
              static_cast<unsigned long long>(s.gossip().deltas_applied()), static_cast<unsigned long long>(s.gossip().deltas_held()),
              static_cast<unsigned long long>(s.gossip().deltas_rejected()));
  for (const auto& m : s.models()) std::printf("  %-32s %s\n", m.name().c_str(), m.version().c_str());
  return Status::ok();
}

}  // namespace

Runner add_delta(CLI::App& app) {
  auto a = std::make_shared<DeltaArgs>();
  app.add_option("old", a->old_path, "The model the nodes serve now (ONNX)")->required();
  app.add_option("new", a->new_path, "The updated model: the same graph, other f32 weights")->required();
  app.add_option("-o,--output", a->output, "The delta file to write")->required();
  app.add_option("--origin", a->opt.origin, "Who makes the delta (its sequence numbers are this origin's)")->required();
  app.add_option("--seq", a->opt.seq, "This delta's number for its origin: 1, 2, ... in order")->required()->check(CLI::PositiveNumber);
  app.add_option("--model", a->opt.model, "The name the nodes serve the model under (default: the old file's stem)");
  app.add_option("--top-k", a->opt.top_k, "Keep the K largest changes over all initializers (0: all, exact)");
  return [a]() {
    Status st = make(*a);
    return st.is_ok() ? 0 : report(st);
  };
}

Runner add_delta_apply(CLI::App& app) {
  auto a = std::make_shared<ApplyArgs>();
  app.add_option("base", a->base, "The model at the delta's base version")->required();
  app.add_option("delta", a->delta, "The delta file")->required();
  app.add_option("-o,--output", a->output, "The updated model to write")->required();
  return [a]() {
    Status st = apply(*a);
    return st.is_ok() ? 0 : report(st);
  };
}

Runner add_update(CLI::App& app) {
  auto a = std::make_shared<UpdateArgs>();
  app.add_option("--node", a->opt.address, "The node to give the delta, e.g. tcp://10.0.0.2:5555")->required();
  app.add_option("delta", a->delta, "The delta file (edgepipe delta)")->required();
  app.add_option("--server-key", a->opt.server_key, "The node's public key (Z85): CURVE");
  app.add_option("--server-key-file", a->server_key_file, "... read from a file (public.key)");
  app.add_option("--keys", a->opt.keys_dir, "This client's keypair folder (an --admin key of the node)");
  app.add_option("--timeout-ms", a->opt.timeout_ms, "Wait this long for the reply")->check(CLI::Range(1, 3600000));
  return [a]() {
    Status st = update(*a);
    return st.is_ok() ? 0 : report(st);
  };
}

}  // namespace ep::tools
