// `precision` of the model stages in pipeline files: checked with the stage's name, and a
// bf16 detector stage runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "kernels/onednn/onednn_kernels.h"
#include "pipeline/app.h"

namespace ep::pipeline {
namespace {

namespace fs = std::filesystem;

const std::string kRoot = EP_SOURCE_DIR;

Result<RunResult> run_yaml(const std::string& name, const std::string& yaml) {
  const fs::path d = fs::temp_directory_path() / ("ep_precision_config_" + name + "_" + std::to_string(::getpid()));
  fs::create_directories(d);
  std::ofstream(d / "p.yaml") << yaml;
  RunOptions o;
  o.pipeline = (d / "p.yaml").string();
  o.live = false;
  o.model_dirs = {kRoot};
  std::ostringstream out, log;
  auto r = run_pipeline(o, out, log);
  fs::remove_all(d);
  return r;
}

TEST(PipelinePrecision, UnknownPrecisionNamesTheStage) {
  if (!fs::exists(kRoot + "/models/ch_PP-OCRv4_det_infer.onnx")) GTEST_SKIP() << "run scripts/fetch-models.sh";
  auto r = run_yaml("bad", "source: {type: synthetic, max_frames: 1}\nstages:\n"
                           "  - {name: det, kind: text_detect, input: source, precision: fp16}\n");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().to_string().find("stage 'det': precision 'fp16' is not fp32 or bf16"), std::string::npos)
      << r.status().to_string();
}

TEST(PipelinePrecision, Bf16DetectorStageRuns) {
  if (!fs::exists(kRoot + "/models/ch_PP-OCRv4_det_infer.onnx")) GTEST_SKIP() << "run scripts/fetch-models.sh";
  if (!kernels::onednn_has_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  auto r = run_yaml("bf16", "source: {type: synthetic, max_frames: 2}\nstages:\n"
                            "  - {name: det, kind: text_detect, input: source, precision: bf16, limit_side_len: 320}\n");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
}

}  // namespace
}  // namespace ep::pipeline
