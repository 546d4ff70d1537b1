// edgepipe run [PIPELINE.yaml] [--source ...] [--duration S] [--output F.jsonl] [--trace F.json]
#include <csignal>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "pipeline/app.h"

namespace ep::tools {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

}  // namespace

Runner add_run(CLI::App& app) {
  auto o = std::make_shared<pipeline::RunOptions>();
  auto quiet = std::make_shared<bool>(false);
  auto report_path = std::make_shared<std::string>();
  app.add_option("pipeline", o->pipeline, "Pipeline file (YAML); without one, the built-in OCR pipeline on the synthetic source");
  app.add_option("--source", o->source, "synthetic | images:DIR | video:FILE | camera:DEVICE (overrides the file's source)");
  app.add_option("--duration", o->duration_s, "Seconds to run (0: until the source ends)");
  app.add_option("--fps", o->fps, "Source frame rate (0: as fast as the first queue takes frames)");
  app.add_option("--output", o->output, "Write one JSON line per frame to this file");
  app.add_option("--trace", o->trace, "Write a Chrome trace (opens in Perfetto) to this file");
  app.add_option("--models", o->model_dirs, "Extra directories for relative model paths");
  app.add_option("--report", *report_path, "Write the run's figures (latency, drops, accuracy) as JSON to this file");
  app.add_flag("--quiet", *quiet, "No live status line");
  app.add_flag("--print-pipeline", [](int64_t) {
    std::cout << pipeline::kBuiltinPipeline;
    std::exit(0);
  }, "Print the built-in pipeline and exit");
  return [o, quiet, report_path]() {
    o->live = !*quiet;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    auto r = pipeline::run_pipeline(*o, std::cout, std::cerr, &g_stop);
    if (!r.is_ok()) return report(r.status());
    pipeline::print_summary(*r, std::cout);
    if (!report_path->empty()) {
      std::ofstream f(*report_path);
      f << pipeline::report_json(*r) << "\n";
      if (!f) return report(io_error("report '", *report_path, "': cannot write"));
    }
    if (!o->output.empty()) std::cout << "results: " << o->output << "\n";
    if (!o->trace.empty()) std::cout << "trace: " << o->trace << " (open in https://ui.perfetto.dev or chrome://tracing)\n";
    return 0;
  };
}

}  // namespace ep::tools
