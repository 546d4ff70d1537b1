// Runs ONNX's backend node tests (Debian's libonnx-testdata) through edgepipe.
// A test is in scope when every operator of its model has a reference kernel at the
// model's opset; in-scope tests must pass unless skip_list.txt names them with a reason.
// Usage: onnx_backend_test [--data DIR] [--skip-list FILE] [--filter REGEX] [--verbose] [--backend ref|auto]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include "edgepipe/session.h"
#include "ir/graph.h"
#include "kernels/kernel.h"
#include "onnx/import.h"

namespace fs = std::filesystem;
using namespace ep;

namespace {

struct SkipRule {
  std::regex pattern;
  std::string text, reason;
  bool used = false;
};

Result<std::vector<SkipRule>> read_skip_list(const std::string& path) {
  std::ifstream f(path);
  if (!f) return io_error("cannot open skip list '", path, "'");
  std::vector<SkipRule> rules;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    const size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    const size_t hash = line.find('#');
    if (hash == std::string::npos) return invalid_argument(path, ":", lineno, ": a skip needs '# reason'");
    std::string pat = line.substr(b, hash - b);
    pat.erase(pat.find_last_not_of(" \t") + 1);
    std::string reason = line.substr(hash + 1);
    reason.erase(0, reason.find_first_not_of(" \t"));
    rules.push_back(SkipRule{std::regex(pat), pat, reason});
  }
  return rules;
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Tensors input_0.pb, input_1.pb ... of a data set, in order.
Result<std::vector<Tensor>> read_set(const fs::path& dir, const std::string& prefix) {
  std::vector<Tensor> r;
  for (int i = 0;; ++i) {
    const fs::path p = dir / (prefix + "_" + std::to_string(i) + ".pb");
    if (!fs::exists(p)) break;
    EP_ASSIGN_OR_RETURN(Tensor t, onnx_import::parse_tensor_proto(read_file(p), p.string()));
    r.push_back(std::move(t));
  }
  return r;
}

Status compare(const Tensor& got, const Tensor& want, const std::string& name) {
  if (got.dtype() != want.dtype())
    return internal_error(name, ": dtype ", dtype_name(got.dtype()), ", expected ", dtype_name(want.dtype()));
  if (got.shape() != want.shape())
    return internal_error(name, ": shape ", got.shape().to_string(), ", expected ", want.shape().to_string());
  const bool is_float = dtype_is_float(want.dtype());
  // ONNX's backend test defaults: rtol 1e-3, atol 1e-7.
  const double rtol = 1e-3, atol = 1e-7;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = view_get_f64(got.view(), i), w = view_get_f64(want.view(), i);
    if (is_float) {
      if (std::isnan(w) && std::isnan(g)) continue;
      if (std::isinf(w) && g == w) continue;
      if (std::fabs(g - w) <= atol + rtol * std::fabs(w)) continue;
    } else if (want.dtype() == DType::i64 || want.dtype() == DType::u64) {
      if (view_get_i64(got.view(), i) == view_get_i64(want.view(), i)) continue;
    } else if (g == w) {
      continue;
    }
    return internal_error(name, ": element ", i, " is ", g, ", expected ", w);
  }
  return Status::ok();
}

enum class Outcome { pass, fail, skip, out_of_scope };

struct Case {
  std::string name;
  Outcome outcome;
  std::string detail;
};

// Ops of the model that have no reference kernel at its opset (empty: in scope).
std::string missing_ops(const ir::Graph& g) {
  std::string missing;
  for (const auto& n : g.nodes())
    if (!kernels::find_kernel(n->op_type, n->domain, n->opset, "ref"))
      missing += (missing.empty() ? "" : ",") + n->op_type + "-" + std::to_string(n->opset);
  return missing;
}

Status run_case(const fs::path& dir, const Model& model, const std::string& backend) {
  for (const auto& set : fs::directory_iterator(dir)) {
    if (!set.is_directory() || set.path().filename().string().rfind("test_data_set_", 0) != 0) continue;
    EP_ASSIGN_OR_RETURN(std::vector<Tensor> inputs, read_set(set.path(), "input"));
    EP_ASSIGN_OR_RETURN(std::vector<Tensor> expected, read_set(set.path(), "output"));
    const std::vector<IoInfo> ins = model.inputs();
    if (ins.size() != inputs.size())
      return unsupported("data set gives ", inputs.size(), " inputs, the model declares ", ins.size());
    SessionOptions opt;
    opt.backend = backend;
    for (size_t i = 0; i < ins.size(); ++i) opt.input_shapes[ins[i].name] = inputs[i].shape();
    auto session = Session::create(model, opt);
    // The tests feed shape-like tensors (axes, sizes, scales, K, depth) as graph inputs;
    // edgepipe needs those at session creation, as a user would give them through
    // SessionOptions::constant_inputs. Freeze all but the data input, then all inputs.
    for (size_t first_frozen : {size_t{1}, size_t{0}}) {
      if (session || session.status().code() != StatusCode::unsupported) break;
      opt.input_shapes.clear();
      opt.constant_inputs.clear();
      for (size_t i = 0; i < ins.size(); ++i) {
        if (i >= first_frozen)
          opt.constant_inputs[ins[i].name] = std::make_shared<const Tensor>(inputs[i].clone());
        else
          opt.input_shapes[ins[i].name] = inputs[i].shape();
      }
      session = Session::create(model, opt);
    }
    std::vector<Tensor> run_inputs;
    if (!session) return session.status();
    for (size_t i = 0; i < ins.size(); ++i)
      if (!opt.constant_inputs.count(ins[i].name)) run_inputs.push_back(inputs[i].clone());
    EP_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, session->run(run_inputs));
    if (outputs.size() != expected.size())
      return internal_error(outputs.size(), " outputs, expected ", expected.size());
    for (size_t i = 0; i < outputs.size(); ++i)
      EP_RETURN_IF_ERROR(compare(outputs[i], expected[i], "output '" + session->outputs()[i].name + "'"));
  }
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "/usr/share/libonnx-testdata/data/node";
  std::string skip_path = EP_SOURCE_DIR "/tests/onnx_backend/skip_list.txt";
  std::string filter = ".*", backend = "auto";
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--data") data = next();
    else if (a == "--skip-list") skip_path = next();
    else if (a == "--filter") filter = next();
    else if (a == "--backend") backend = next();
    else if (a == "--verbose" || a == "-v") verbose = true;
    else {
      std::cerr << "usage: onnx_backend_test [--data DIR] [--skip-list FILE] [--filter REGEX] [--backend ref|auto] [--verbose]\n";
      return 2;
    }
  }
  auto rules = read_skip_list(skip_path);
  if (!rules) {
    std::cerr << rules.status().to_string() << "\n";
    return 2;
  }
  if (!fs::is_directory(data)) {
    std::cerr << "ONNX test data not found at " << data << " (install libonnx-testdata: scripts/install-deps.sh)\n";
    return 2;
  }
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(data))
    if (e.is_directory() && std::regex_search(e.path().filename().string(), std::regex(filter))) dirs.push_back(e.path());
  std::sort(dirs.begin(), dirs.end());
  std::vector<Case> cases;
  std::map<std::string, int> out_of_scope_ops;
  for (const fs::path& dir : dirs) {
    const std::string name = dir.filename().string();
    Case c{name, Outcome::pass, ""};
    SkipRule* skip = nullptr;
    for (SkipRule& r : *rules)
      if (std::regex_match(name, r.pattern)) skip = &r;
    auto model = Model::load((dir / "model.onnx").string());
    if (!model && model.status().code() == StatusCode::unsupported) {
      // Outside what the importer takes: opsets before 7, sequences, strings, subgraphs.
      c.outcome = Outcome::out_of_scope;
      c.detail = model.status().message();
      ++out_of_scope_ops["(import) " + c.detail.substr(c.detail.find(": ") + 2, 40)];
    } else if (model && !missing_ops(model->graph()).empty()) {
      c.outcome = Outcome::out_of_scope;
      c.detail = missing_ops(model->graph());
      std::stringstream ss(c.detail);
      std::string op;
      while (std::getline(ss, op, ',')) ++out_of_scope_ops[op];
    } else if (skip) {
      skip->used = true;
      c.outcome = Outcome::skip;
      c.detail = skip->reason;
    } else if (!model) {
      c.outcome = Outcome::fail;
      c.detail = model.status().to_string();
    } else if (Status st = run_case(dir, *model, backend); !st.is_ok()) {
      c.outcome = Outcome::fail;
      c.detail = st.to_string();
    }
    cases.push_back(c);
  }
  int pass = 0, fail = 0, skip = 0, oos = 0;
  for (const Case& c : cases) {
    switch (c.outcome) {
      case Outcome::pass: ++pass; if (verbose) std::printf("PASS %s\n", c.name.c_str()); break;
      case Outcome::fail: ++fail; std::printf("FAIL %s: %s\n", c.name.c_str(), c.detail.c_str()); break;
      case Outcome::skip: ++skip; if (verbose) std::printf("SKIP %s: %s\n", c.name.c_str(), c.detail.c_str()); break;
      case Outcome::out_of_scope: ++oos; if (verbose) std::printf("NOOP %s: no kernel for %s\n", c.name.c_str(), c.detail.c_str()); break;
    }
  }
  if (verbose && !out_of_scope_ops.empty()) {
    std::printf("\nops without a kernel (tests):");
    for (const auto& [op, n] : out_of_scope_ops) std::printf(" %s(%d)", op.c_str(), n);
    std::printf("\n");
  }
  for (const SkipRule& r : *rules)
    if (!r.used && filter == ".*") std::printf("note: skip rule '%s' matched no in-scope test\n", r.text.c_str());
  std::printf("\nONNX backend node tests: %d in scope of %zu (%d not run: operator without a kernel)\n", pass + fail + skip,
              cases.size(), oos);
  std::printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
  return fail == 0 ? 0 : 1;
}
