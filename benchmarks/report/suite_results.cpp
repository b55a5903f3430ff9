#include "suite_results.hpp"

#include <fstream>
#include <stdexcept>

namespace cairn::bench::report {

const json* invocation::system(const std::string& name) const {
  for (const auto& r : results)
    if (r.value("system", "") == name)
      return &r;
  return nullptr;
}

const invocation* suite_results::find(const std::string& id) const {
  for (const auto& i : invocations)
    if (i.id == id)
      return &i;
  return nullptr;
}

std::optional<double> number(const json& j, const std::string& key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number())
    return std::nullopt;
  return it->get<double>();
}

suite_results load_results(const std::filesystem::path& lines, const std::filesystem::path& micro) {
  std::ifstream in{lines};
  if (!in)
    throw std::runtime_error{"cannot read " + lines.string()};
  suite_results out;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.empty())
      continue;
    const auto where = lines.string() + ":" + std::to_string(n);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::exception& e) {
      throw std::runtime_error{where + ": not JSON: " + e.what()};
    }
    const auto kind = j.value("kind", "");
    if (kind == "machine") {
      out.machine = j;
    } else if (kind == "suite") {
      out.suite = j;
    } else if (kind == "run") {
      const auto id = j.value("id", "");
      if (id.empty() || !j.contains("result"))
        throw std::runtime_error{where + ": a run line needs an id and a result"};
      // The lines of one invocation come together, in the order run.
      if (out.invocations.empty() || out.invocations.back().id != id)
        out.invocations.push_back(invocation{id, j.value("command", ""), j.value("wall_seconds", 0.0), {}});
      out.invocations.back().results.push_back(j["result"]);
    } else if (kind == "store") {
      out.store_bench_command = j.value("command", "");
      out.store_bench_seconds = j.value("wall_seconds", 0.0);
      out.store_bench.push_back(j["result"]);
    } else if (kind == "micro") {
      out.micro_command = j.value("command", "");
      out.micro_seconds = j.value("wall_seconds", 0.0);
    } else {
      throw std::runtime_error{where + ": unknown kind '" + kind + "'"};
    }
  }
  if (!micro.empty()) {
    std::ifstream m{micro};
    if (!m)
      throw std::runtime_error{"cannot read " + micro.string()};
    try {
      out.micro = json::parse(m);
    } catch (const json::exception& e) {
      throw std::runtime_error{micro.string() + ": not JSON: " + e.what()};
    }
  }
  return out;
}

} // namespace cairn::bench::report
