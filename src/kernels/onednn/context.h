// The process-wide oneDNN CPU engine and a stream per calling thread.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace ep::kernels::onednn {

dnnl::engine& cpu_engine();
dnnl::stream& thread_stream();

}  // namespace ep::kernels::onednn
