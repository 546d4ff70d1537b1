// oneDNN 2.6's convolution time on NHWC against its blocked layout (nChw8c on AVX2 CPUs,
// nChw16c with AVX-512) for layer shapes of the benchmark models, one thread, no copies:
// what the blocked-copy path of src/kernels/onednn/fused_conv.cc and a layout kept blocked
// between convolutions could gain. Built and run by bench/onednn_layouts.sh.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using dnnl::memory;
using tag = memory::format_tag;

struct Layer {
  const char* what;
  int c, oc, hw, k, stride, group;
};

// Median milliseconds of `runs` executions, and the implementation oneDNN picked.
double time_conv(const Layer& l, tag layout, int runs, const char** impl) {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream st(eng);
  const int pad = l.k / 2, ohw = (l.hw + 2 * pad - l.k) / l.stride + 1;
  const memory::desc src({1, l.c, l.hw, l.hw}, memory::data_type::f32, layout);
  const memory::desc dst({1, l.oc, ohw, ohw}, memory::data_type::f32, layout);
  const memory::desc w = l.group == 1
                             ? memory::desc({l.oc, l.c, l.k, l.k}, memory::data_type::f32, tag::any)
                             : memory::desc({l.group, l.oc / l.group, l.c / l.group, l.k, l.k}, memory::data_type::f32, tag::any);
  const memory::desc b({l.oc}, memory::data_type::f32, tag::a);
  dnnl::post_ops ops;
  ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(ops);
  const dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
                                          w, b, dst, {l.stride, l.stride}, {pad, pad}, {pad, pad});
  const dnnl::convolution_forward::primitive_desc pd(d, attr, eng);
  *impl = pd.impl_info_str();
  memory ms(src, eng), md(dst, eng), mw(pd.weights_desc(), eng), mb(b, eng);
  auto fill = [](memory& m, float v) {
    float* p = static_cast<float*>(m.get_data_handle());
    std::fill(p, p + m.get_desc().get_size() / sizeof(float), v);
  };
  fill(ms, 0.5f);
  fill(mw, 0.01f);
  fill(mb, 0.f);
  const dnnl::convolution_forward conv(pd);
  std::vector<double> ms_per_run;
  for (int i = 0; i < runs + 2; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    conv.execute(st, {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb}, {DNNL_ARG_DST, md}});
    st.wait();
    if (i >= 2) ms_per_run.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms_per_run.begin(), ms_per_run.end());
  return ms_per_run[ms_per_run.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  const bool avx512 = (static_cast<unsigned>(dnnl::get_effective_cpu_isa()) &
                       static_cast<unsigned>(dnnl::cpu_isa::avx512_core)) == static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  const tag blocked = avx512 ? tag::nChw16c : tag::nChw8c;
  const Layer layers[] = {
      {"ResNet-50 layer1 3x3", 64, 64, 56, 3, 1, 1},
      {"ResNet-50 layer2.0 3x3 s2", 128, 128, 56, 3, 2, 1},
      {"ResNet-50 layer2 3x3", 128, 128, 28, 3, 1, 1},
      {"ResNet-50 layer3 3x3", 256, 256, 14, 3, 1, 1},
      {"ResNet-50 layer4 3x3", 512, 512, 7, 3, 1, 1},
      {"ResNet-50 1x1 64->256", 64, 256, 56, 1, 1, 1},
      {"ResNet-50 1x1 256->64", 256, 64, 56, 1, 1, 1},
      {"det dw 3x3 16ch @320", 16, 16, 320, 3, 1, 16},
      {"det dw 3x3 96ch @80", 96, 96, 80, 3, 1, 96},
      {"det dw 3x3 s2 48ch @160", 48, 48, 160, 3, 2, 48},
      {"det dw 5x5 384ch @20", 384, 384, 20, 5, 1, 384},
      {"MobileNetV3 dw 3x3 s2 64ch @112", 64, 64, 112, 3, 2, 64},
      {"MobileNetV3 dw 3x3 72ch @56", 72, 72, 56, 3, 1, 72},
      {"MobileNetV3 dw 5x5 s2 72ch @56", 72, 72, 56, 5, 2, 72},
      {"MobileNetV3 dw 5x5 120ch @28", 120, 120, 28, 5, 1, 120},
      {"MobileNetV3 dw 3x3 240ch s2 @28", 240, 240, 28, 3, 2, 240},
      {"MobileNetV3 dw 5x5 672ch s2 @14", 672, 672, 14, 5, 2, 672},
  };
  std::printf("| layer | NHWC ms | %s ms | NHWC / blocked | oneDNN kernels |\n|---|---:|---:|---:|---|\n",
              avx512 ? "nChw16c" : "nChw8c");
  for (const Layer& l : layers) {
    const char *impl_a = "", *impl_b = "";
    const double a = time_conv(l, tag::nhwc, runs, &impl_a);
    const double b = time_conv(l, blocked, runs, &impl_b);
    std::printf("| %s | %.3f | %.3f | %.2f | %s / %s |\n", l.what, a, b, a / b, impl_a, impl_b);
    std::fflush(stdout);
  }
}
