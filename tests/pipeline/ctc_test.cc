#include "pipeline/ctc.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ep::pipeline {
namespace {

// One-hot-ish rows: the listed class gets `p`, the rest share what is left.
std::vector<float> rows(const std::vector<int>& best, int classes, float p = 0.9f) {
  std::vector<float> m(best.size() * classes, (1 - p) / (classes - 1));
  for (size_t t = 0; t < best.size(); ++t) m[t * classes + best[t]] = p;
  return m;
}

TEST(Ctc, MergesRepeatsDropsBlanks) {
  const CtcDictionary dict = CtcDictionary::from_tokens({"a", "b", "c"});  // 0 blank, 1 a, 2 b, 3 c, 4 ' '
  ASSERT_EQ(dict.num_classes(), 5);
  // a a _ a b b _ _ c ' ' -> "aabc "
  auto m = rows({1, 1, 0, 1, 2, 2, 0, 0, 3, 4}, 5);
  auto r = ctc_greedy_decode(m.data(), 10, 5, dict);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->text, "aabc ");
  EXPECT_NEAR(r->score, 0.9f, 1e-6);
}

TEST(Ctc, ScoreIsMeanOfKeptMaxima) {
  const CtcDictionary dict = CtcDictionary::from_tokens({"x", "y"}, false);
  std::vector<float> m = {0.1f, 0.8f, 0.1f,   // x 0.8
                          0.1f, 0.6f, 0.3f,   // x again (merged, not counted)
                          0.2f, 0.1f, 0.7f,   // y 0.7
                          0.9f, 0.05f, 0.05f};  // blank
  auto r = ctc_greedy_decode(m.data(), 4, 3, dict);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->text, "xy");
  EXPECT_NEAR(r->score, 0.75f, 1e-6);
  auto blank = rows({0, 0, 0}, 3);
  r = ctc_greedy_decode(blank.data(), 3, 3, dict);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->text, "");
  EXPECT_EQ(r->score, 0.f);
}

TEST(Ctc, Utf8TokensAndBatch) {
  const CtcDictionary dict = CtcDictionary::from_tokens({"中", "文", "é", "😀"});
  const int c = static_cast<int>(dict.num_classes());
  auto a = rows({1, 0, 1, 2, 2, 5}, c);  // 中 _ 中 文 文 ' ' -> "中中文 "
  auto b = rows({3, 4, 4, 0, 4, 0}, c);  // é 😀 😀 _ 😀 _ -> "é😀😀"
  std::vector<float> batch = a;
  batch.insert(batch.end(), b.begin(), b.end());
  TensorView v{DType::f32, Shape{2, 6, c}, batch.data()};
  auto r = ctc_greedy_decode(v, dict);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].text, "中中文 ");
  EXPECT_EQ((*r)[1].text, "é😀😀");
  TensorView one{DType::f32, Shape{6, c}, batch.data()};
  auto s = ctc_greedy_decode(one, dict);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ((*s)[0].text, "中中文 ");
}

TEST(Ctc, ValidatesSizes) {
  const CtcDictionary dict = CtcDictionary::from_tokens({"a"});
  std::vector<float> m(12);
  EXPECT_FALSE(ctc_greedy_decode(m.data(), 3, 4, dict).is_ok());  // 4 classes vs 3
  TensorView bad_rank{DType::f32, Shape{1, 1, 4, 3}, m.data()};
  EXPECT_FALSE(ctc_greedy_decode(bad_rank, dict).is_ok());
  TensorView bad_type{DType::f64, Shape{2, 3}, m.data()};
  EXPECT_FALSE(ctc_greedy_decode(bad_type, dict).is_ok());
}

TEST(Ctc, LoadsPaddleDictionary) {
  const std::string path = std::string(EP_SOURCE_DIR) + "/models/ppocr_keys_v1.txt";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
  auto d = CtcDictionary::load(path, 6625);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(d->token(0), "");
  EXPECT_EQ(d->token(6624), " ");
  auto wrong = CtcDictionary::load(path, 97);
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("ppocr_keys_v1.txt"), std::string::npos);
  EXPECT_NE(wrong.status().message().find("6625"), std::string::npos);
}

TEST(Ctc, LoadErrorsNameTheFile) {
  auto missing = CtcDictionary::load("/nonexistent/keys.txt");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/keys.txt"), std::string::npos);
  const auto tmp = std::filesystem::temp_directory_path() / "ep_ctc_empty_line.txt";
  std::ofstream(tmp) << "a\n\nb\n";
  auto r = CtcDictionary::load(tmp.string());
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos);
  std::ofstream(tmp) << "a\r\nb\r\n";
  r = CtcDictionary::load(tmp.string(), 4);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->token(2), "b");
  std::filesystem::remove(tmp);
}

}  // namespace
}  // namespace ep::pipeline
