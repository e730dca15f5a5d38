// sinapse._cuda_prof's profiler functions (csrc/cuda/sim/profiler.h): start and stop recording,
// the launches recorded as dicts, and the hand-checked kernels of profiler_selftest.cu. Python's
// side is sinapse.profiler (what turns these counts into a profile and an H200 estimate).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "../cuda/sim/profiler.h"
#include "cuda/device_array.h"

namespace sinapse::cuda::profiler_selftest {
void run(const std::string& name, const float* in, float* out, unsigned blocks, unsigned threads);
}

namespace sinapse::bindings::cuda {

namespace py = pybind11;
namespace prof = sinapse::sim::profile;

namespace {

py::tuple dims(dim3 d) { return py::make_tuple(d.x, d.y, d.z); }

py::dict counts_dict(const prof::Counts& c) {
  py::dict d;
#define SINAPSE_COUNT(field) d[#field] = c.field
  SINAPSE_COUNT(global_load_requests);
  SINAPSE_COUNT(global_load_sectors);
  SINAPSE_COUNT(global_load_ideal_sectors);
  SINAPSE_COUNT(global_load_bytes);
  SINAPSE_COUNT(global_store_requests);
  SINAPSE_COUNT(global_store_sectors);
  SINAPSE_COUNT(global_store_ideal_sectors);
  SINAPSE_COUNT(global_store_bytes);
  SINAPSE_COUNT(global_atomic_requests);
  SINAPSE_COUNT(global_atomic_sectors);
  SINAPSE_COUNT(shared_load_requests);
  SINAPSE_COUNT(shared_load_wavefronts);
  SINAPSE_COUNT(shared_load_ideal_wavefronts);
  SINAPSE_COUNT(shared_store_requests);
  SINAPSE_COUNT(shared_store_wavefronts);
  SINAPSE_COUNT(shared_store_ideal_wavefronts);
  SINAPSE_COUNT(shared_atomic_requests);
  SINAPSE_COUNT(local_loads);
  SINAPSE_COUNT(local_stores);
  SINAPSE_COUNT(unclassified_loads);
  SINAPSE_COUNT(unclassified_stores);
  SINAPSE_COUNT(duplicate_lane_events);
#undef SINAPSE_COUNT
  return d;
}

py::dict record_dict(const prof::LaunchRecord& r) {
  py::dict d = counts_dict(r.counts);
  d["launch"] = r.launch;
  d["name"] = r.launch.substr(0, r.launch.find("<<<"));
  d["grid"] = dims(r.grid);
  d["block"] = dims(r.block);
  d["dynamic_shared_bytes"] = r.dynamic_shared;
  d["distinct_load_sectors"] = r.distinct_load_sectors;
  d["distinct_store_sectors"] = r.distinct_store_sectors;
  d["sampled_blocks"] = r.sampled_blocks;
  py::array_t<uint64_t> bbs({static_cast<py::ssize_t>(r.basic_blocks.size()), py::ssize_t(3)});
  auto v = bbs.mutable_unchecked<2>();
  py::ssize_t i = 0;
  for (const auto& [offset, e] : r.basic_blocks) {
    v(i, 0) = offset;
    v(i, 1) = e.warp;
    v(i, 2) = e.lane;
    ++i;
  }
  d["basic_blocks"] = bbs;  // (offset in the module, warp executions, lane executions)
  return d;
}

}  // namespace

void bind_profiler(py::module_& m) {
  m.attr("is_profiler") = true;
  m.def(
      "profile_start", [](uint64_t max_blocks) { prof::start(max_blocks); }, py::arg("max_blocks") = 0,
      "Start recording every launch (clears earlier records); max_blocks > 0 traces at most that "
      "many blocks of each launch (evenly spread, the last included).");
  m.def(
      "profile_stop",
      [] {
        py::list out;
        for (const auto& r : prof::stop()) out.append(record_dict(r));
        return out;
      },
      "Stop recording; one dict of counts per launch since profile_start.");
  m.def(
      "profile_selftest",
      [](const std::string& name, ArrayObject in, ArrayObject out, unsigned blocks, unsigned threads) {
        const auto x = array_arg<float>(in, "profile_selftest", "in");
        const auto y = array_arg<float>(out, "profile_selftest", "out", Access::write);
        py::gil_scoped_release release;
        sinapse::cuda::profiler_selftest::run(name, x.data(), y.data(), blocks, threads);
      },
      py::arg("name"), py::arg("in"), py::arg("out"), py::arg("blocks"), py::arg("threads"),
      "Run a kernel of csrc/cuda/sim/profiler_selftest.cu (profiles known by hand). The caller "
      "sizes `in` and `out` for blocks x threads lanes (gather_stride32 reads 32 floats a lane).");
}

}  // namespace sinapse::bindings::cuda
