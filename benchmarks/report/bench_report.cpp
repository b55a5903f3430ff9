// bench-report: turns the results of the standard suite (benchmarks/suite.sh, run by `./dev bench`) into
// docs/benchmarks.md and the gnuplot input of its plots. The prose lives in a template (benchmarks.md.in) whose
// markers @MACHINE@, @RESULTS@, @SWEEP@, @GOALS@, @STORE@ and @SUITE@ are replaced by what was measured; nothing
// in the generated file is typed by hand.
//
//   bench-report --results R.jsonl [--micro M.json] --template T.md.in --out docs/benchmarks.md
//                --work-dir DIR --image-dir docs/img --image-link img
#include "plots.hpp"
#include "suite_results.hpp"

#include "../runtime/format.hpp"

#include <CLI/CLI.hpp>

#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace cairn::bench;
using namespace cairn::bench::report;

namespace {

// ---- cells ----

std::string count_of(const json& r, const std::string& key) {
  const auto v = number(r, key);
  return v ? grouped(*v) : "";
}

std::string micros_of(const json& r, const std::string& key) {
  const auto v = number(r, key);
  return v ? micros(*v) : "";
}

std::string fixed_of(const json& r, const std::string& key, int decimals) {
  const auto v = number(r, key);
  return v ? fixed(*v, decimals) : "";
}

/// The headline figure, bold for cairn, with the spread of the repeated runs.
std::string headline(const json& r, const std::string& key, const std::function<std::string(double)>& show) {
  const auto v = number(r, key);
  if (!v)
    return "";
  auto out = show(*v);
  if (r.value("system", "") == "cairn")
    out = "**" + out + "**";
  const auto lo = number(r, "headline_min");
  const auto hi = number(r, "headline_max");
  if (r.value("runs", 1) > 1 && lo && hi)
    out += " (" + show(*lo) + " – " + show(*hi) + ")";
  return out;
}

std::string ratio_cell(const invocation& inv, const json& r) {
  const auto* cairn = inv.system("cairn");
  const auto name = r.value("system", "");
  if (cairn == nullptr || name == "cairn" || !cairn->contains("ratio_vs") || !(*cairn)["ratio_vs"].is_object())
    return "";
  const auto& ratios = (*cairn)["ratio_vs"];
  if (!ratios.contains(name))
    return "";
  return fixed(ratios[name].get<double>(), 2) + "x";
}

// ---- tables ----

struct column {
  std::string title;
  std::function<std::string(const invocation&, const json&)> cell;
};

column plain(std::string title, std::function<std::string(const json&)> f) {
  return column{std::move(title), [f = std::move(f)](const invocation&, const json& r) { return f(r); }};
}

std::string table(const invocation& inv, const std::vector<column>& columns) {
  std::ostringstream out;
  out << "|";
  for (const auto& c : columns)
    out << ' ' << c.title << " |";
  out << "\n|";
  for (std::size_t i = 0; i < columns.size(); ++i)
    out << (i == 0 ? "---|" : "---:|");
  out << '\n';
  for (const auto& r : inv.results) {
    out << "|";
    for (const auto& c : columns)
      out << ' ' << c.cell(inv, r) << " |";
    out << '\n';
  }
  return out.str();
}

std::string command_line(const invocation& inv) {
  return "`" + inv.command + "`\n\n";
}

std::vector<column> throughput_columns() {
  return {
    plain("system", [](const json& r) { return r.value("system", ""); }),
    plain("in flight", [](const json& r) { return count_of(r, "in_flight"); }),
    plain("threads", [](const json& r) { return count_of(r, "threads"); }),
    plain("commands/s (spread)", [](const json& r) { return headline(r, "commands_per_s", grouped); }),
    plain("p50 µs", [](const json& r) { return micros_of(r, "p50_us"); }),
    plain("p99 µs", [](const json& r) { return micros_of(r, "p99_us"); }),
    plain("p99.9 µs", [](const json& r) { return micros_of(r, "p999_us"); }),
    plain("events/fsync", [](const json& r) { return fixed_of(r, "events_per_fsync", 1); }),
    column{"cairn ÷ baseline", ratio_cell},
  };
}

std::string appends_note(const invocation& inv) {
  const auto* cairn = inv.system("cairn");
  if (cairn == nullptr)
    return "";
  const auto apw = number(*cairn, "appends_per_write");
  return apw ? "The committer wrote " + fixed(*apw, 1) + " appends per RocksDB write.\n\n" : "";
}

void section(std::ostringstream& out, const suite_results& s, const std::string& id, const std::string& title,
             const std::string& intro, const std::function<std::string(const invocation&)>& body) {
  const auto* inv = s.find(id);
  out << "### " << title << "\n\n";
  if (inv == nullptr) {
    out << "Not run in this suite.\n\n";
    return;
  }
  out << command_line(*inv) << body(*inv) << '\n' << intro;
}

std::string results_section(const suite_results& s) {
  std::ostringstream out;
  const auto throughput = [](const invocation& inv) {
    return table(inv, throughput_columns()) + "\n" + appends_note(inv);
  };
  section(out, s, "uniform-durable", "uniform, durable", "", throughput);
  section(out, s, "uniform-buffered", "uniform, buffered", "", throughput);
  section(out, s, "orders", "orders (durable)", "", throughput);
  section(out, s, "hotspot", "hotspot (durable, zipfian 0.99)",
          "An instance takes its next command only after the previous one is committed (guarantee 2), so the "
          "hottest aggregates complete about one command per commit round and the window fills with commands "
          "waiting behind them. `rocksdb-group` serialises nothing per aggregate: it checks no invariant and its "
          "heads race.\n\n",
          throughput);
  section(out, s, "lone", "lone (one command at a time, durable)", "", [](const invocation& inv) {
    return table(inv, {
                        plain("system", [](const json& r) { return r.value("system", ""); }),
                        plain("p50 µs (spread)", [](const json& r) { return headline(r, "p50_us", micros); }),
                        plain("p99 µs", [](const json& r) { return micros_of(r, "p99_us"); }),
                        plain("p99.9 µs", [](const json& r) { return micros_of(r, "p999_us"); }),
                        plain("commands/s", [](const json& r) { return count_of(r, "commands_per_s"); }),
                        plain("fdatasync p50 µs", [](const json& r) { return micros_of(r, "fdatasync_p50_us"); }),
                        plain("p50 ÷ fdatasync p50", [](const json& r) {
                          const auto p = number(r, "p50_vs_fdatasync");
                          return p ? fixed(*p, 2) : "";
                        }),
                      });
  });
  section(out, s, "transfers", "transfers (the transfer saga, durable)",
          "A transfer is five commands, each its own commit (start, debit, record the answer, credit, record the "
          "answer; seven when refunded); commands/s counts transfers, from `start_transfer` sent to its last event "
          "seen on the log, and appends/s every command of the saga.\n\n",
          [](const invocation& inv) {
            return table(inv, {
                                plain("system", [](const json& r) { return r.value("system", ""); }),
                                plain("accounts", [](const json& r) { return count_of(r, "aggregates"); }),
                                plain("in flight", [](const json& r) { return count_of(r, "in_flight"); }),
                                plain("transfers/s (spread)",
                                      [](const json& r) { return headline(r, "commands_per_s", grouped); }),
                                plain("appends/s", [](const json& r) { return count_of(r, "appends_per_s"); }),
                                plain("p50 µs", [](const json& r) { return micros_of(r, "p50_us"); }),
                                plain("p99 µs", [](const json& r) { return micros_of(r, "p99_us"); }),
                                plain("p99.9 µs", [](const json& r) { return micros_of(r, "p999_us"); }),
                                plain("events/fsync", [](const json& r) { return fixed_of(r, "events_per_fsync", 1); }),
                                plain("completed", [](const json& r) { return count_of(r, "transfers_completed"); }),
                                plain("refunded", [](const json& r) { return count_of(r, "transfers_compensated"); }),
                              });
          });
  section(out, s, "churn", "churn (passivation under --max-active, durable)",
          "Activations are instances that replayed their stream during the timed commands; peak active is the "
          "most instances active at once (sampled every 5 ms). An instance with commands queued cannot passivate, "
          "so with more commands in flight than `--max-active` the runtime holds about one instance per command in "
          "flight.\n\n",
          [](const invocation& inv) {
            return table(inv, {
                                plain("system", [](const json& r) { return r.value("system", ""); }),
                                plain("aggregates", [](const json& r) { return count_of(r, "aggregates"); }),
                                plain("in flight", [](const json& r) { return count_of(r, "in_flight"); }),
                                plain("commands/s (spread)",
                                      [](const json& r) { return headline(r, "commands_per_s", grouped); }),
                                plain("p50 µs", [](const json& r) { return micros_of(r, "p50_us"); }),
                                plain("p99 µs", [](const json& r) { return micros_of(r, "p99_us"); }),
                                plain("max active", [](const json& r) { return count_of(r, "max_active"); }),
                                plain("peak active", [](const json& r) { return count_of(r, "peak_active"); }),
                                plain("activations", [](const json& r) { return count_of(r, "activations"); }),
                                plain("activations per command", [](const json& r) {
                                  const auto a = number(r, "activations");
                                  const auto c = number(r, "commands");
                                  return a && c && *c > 0 ? fixed(*a / *c, 2) : "";
                                }),
                              });
          });
  const auto memory = [](const invocation& inv) {
    return table(inv, {
                        plain("aggregates", [](const json& r) { return count_of(r, "aggregates"); }),
                        plain("activation of all, s", [](const json& r) { return fixed_of(r, "seconds", 2); }),
                        plain("resident bytes per idle aggregate (spread)",
                                [](const json& r) { return headline(r, "rss_bytes_per_aggregate", grouped); }),
                      });
  };
  section(out, s, "idle-memory-100k", "idle-memory, 100,000 aggregates", "", memory);
  section(out, s, "idle-memory-1m", "idle-memory, 1,000,000 aggregates", "", memory);
  section(out, s, "recovery", "recovery", "", [](const invocation& inv) {
    const auto ms = [](double v) { return fixed(v, 2); };
    return table(inv, {
                        plain("events", [](const json& r) { return count_of(r, "events"); }),
                        plain("activation (first query) ms (spread)",
                              [ms](const json& r) { return headline(r, "activation_ms", ms); }),
                        plain("replay during activation, events/s",
                              [](const json& r) { return count_of(r, "events_per_s"); }),
                        plain("global log read, events/s",
                              [](const json& r) { return count_of(r, "replay_events_per_s"); }),
                      });
  });
  return out.str();
}

// ---- the sweep ----

std::string sweep_section(const suite_results& s, const std::vector<std::string>& pngs, const std::string& link) {
  std::ostringstream out;
  for (const auto& png : pngs)
    out << "![" << png.substr(0, png.size() - 4) << "](" << link << "/" << png << ")\n\n";
  for (const std::string durability : {"durable", "buffered"}) {
    bool any = false;
    std::ostringstream rows;
    for (const auto c : sweep_in_flight) {
      const auto* inv = s.find(sweep_id(durability, c));
      if (inv == nullptr)
        continue;
      if (!any)
        out << "**" << durability << "**, e.g. `" << inv->command << "`\n\n";
      any = true;
      rows << "| " << grouped(c);
      for (const auto& system : sweep_systems) {
        const auto* r = inv->system(system);
        rows << " | " << (r ? count_of(*r, "commands_per_s") : "") << " | "
             << (r ? micros_of(*r, "p50_us") + " / " + micros_of(*r, "p99_us") + " / " + micros_of(*r, "p999_us") : "");
      }
      rows << " |\n";
    }
    if (!any)
      continue;
    out << "| in flight |";
    for (const auto& system : sweep_systems)
      out << ' ' << system << " commands/s | " << system << " p50 / p99 / p99.9 µs |";
    out << "\n|---:|";
    for (std::size_t i = 0; i < sweep_systems.size(); ++i)
      out << "---:|---:|";
    out << '\n' << rows.str() << '\n';
  }
  return out.str();
}

// ---- the goals ----

struct goal {
  std::string text;
  std::string id;
  std::string system;
  std::function<std::optional<double>(const json&)> figure;
  std::function<std::string(double)> show;
  double target;
  bool at_least; ///< else at most
  /// A figure that cannot be right (for instance below a physical floor): why it is not judged.
  std::function<std::optional<std::string>(double)> implausible = [](double) { return std::nullopt; };
};

std::string goals_section(const suite_results& s) {
  const auto per_s = [](double v) { return grouped(v) + " /s"; };
  const auto key = [](std::string k) { return [k](const json& r) { return number(r, k); }; };
  const std::vector<goal> goals{
    {"uniform durable, 10,000 aggregates, 1,000 in flight: ≥ 100,000 commands/s", "uniform-durable", "cairn",
     key("commands_per_s"), per_s, 100'000, true},
    {"the same: ≥ 5x `rocksdb-group`", "uniform-durable", "cairn",
     [](const json& r) -> std::optional<double> {
       if (r.contains("ratio_vs") && r["ratio_vs"].is_object() && r["ratio_vs"].contains("rocksdb-group"))
         return r["ratio_vs"]["rocksdb-group"].get<double>();
       return std::nullopt;
     },
     [](double v) { return fixed(v, 2) + "x"; }, 5, true},
    {"uniform buffered: ≥ 150,000 commands/s", "uniform-buffered", "cairn", key("commands_per_s"), per_s, 150'000,
     true},
    {"orders durable: ≥ 100,000 commands/s", "orders", "cairn", key("commands_per_s"), per_s, 100'000, true},
    {"idle memory, 100,000 aggregates: ≤ 1.5 KB (1,536 bytes) resident per aggregate", "idle-memory-100k", "cairn",
     key("rss_bytes_per_aggregate"), [](double v) { return grouped(v) + " bytes"; }, 1536, false},
    {"idle memory, 1,000,000 aggregates: ≤ 1.5 KB (1,536 bytes) resident per aggregate", "idle-memory-1m", "cairn",
     key("rss_bytes_per_aggregate"), [](double v) { return grouped(v) + " bytes"; }, 1536, false},
    {"lone durable: p50 ≤ 1.5x fdatasync p50", "lone", "cairn", key("p50_vs_fdatasync"),
     [](double v) { return fixed(v, 2) + "x"; }, 1.5, false,
     [](double v) -> std::optional<std::string> {
       if (v >= 1)
         return std::nullopt;
       return "a synced commit measured faster than the probe's own fdatasync: the probe (appends to a new file) "
              "was slowed by other I/O on the disk, or syncs differently from RocksDB's WAL; rerun on a quiet "
              "machine";
     }},
    {"recovery: activation of a 10,000-event aggregate ≤ 10 ms", "recovery", "cairn", key("activation_ms"),
     [](double v) { return fixed(v, 2) + " ms"; }, 10, false},
  };
  std::ostringstream out;
  out << "| goal | measured | |\n|---|---:|---|\n";
  for (const auto& g : goals) {
    const auto* inv = s.find(g.id);
    const json* r = inv ? inv->system(g.system) : nullptr;
    const auto v = r ? g.figure(*r) : std::nullopt;
    out << "| " << g.text << " | ";
    if (!v) {
      out << "not measured in this run | |\n";
      continue;
    }
    const bool met = g.at_least ? *v >= g.target : *v <= g.target;
    out << g.show(*v) << " | ";
    if (const auto why = g.implausible(*v))
      out << "**not judged**: " << *why;
    else if (met)
      out << "**met**";
    else {
      // One decimal, so that a figure just short of its goal never reads "100% of the goal".
      const double share = 100 * (g.at_least ? *v / g.target : g.target / *v);
      out << "**not met** (" << fixed(share, share >= 99.5 ? 1 : 0) << "% of the goal)";
    }
    out << " |\n";
  }
  return out.str();
}

// ---- the store ----

std::string store_section(const suite_results& s) {
  std::ostringstream out;
  if (!s.store_bench.empty()) {
    out << "`" << s.store_bench_command << "` (the event store alone, next to a raw RocksDB baseline)\n\n"
        << "| benchmark | median | unit | min | max |\n|---|---:|---|---:|---:|\n";
    for (const auto& r : s.store_bench) {
      const auto unit = r.value("unit", "");
      const auto show = [&](const std::string& k) {
        const auto v = number(r, k);
        return v ? (unit == "ms" ? fixed(*v, 2) : grouped(*v)) : "";
      };
      out << "| " << r.value("benchmark", "") << " | " << show("median") << " | " << unit << " | " << show("min")
          << " | " << show("max") << " |\n";
    }
    out << '\n';
  }
  if (s.micro.is_object() && s.micro.contains("benchmarks")) {
    out << "`" << s.micro_command << "` (Google Benchmark: the codecs)";
    if (s.micro.contains("context") && s.micro["context"].value("library_build_type", "") == "debug")
      out << ". Google Benchmark's own library (Debian's `libbenchmark`) reports a debug build; the code measured "
             "is cairn's, built for Release";
    out << ".\n\n"
        << "| benchmark | time per operation | CPU per operation | items/s |\n|---|---:|---:|---:|\n";
    for (const auto& b : s.micro["benchmarks"]) {
      const auto unit = b.value("time_unit", "ns");
      const auto t = [&](const std::string& k) {
        const auto v = number(b, k);
        return v ? fixed(*v, 1) + " " + unit : "";
      };
      out << "| " << b.value("name", "") << " | " << t("real_time") << " | " << t("cpu_time") << " | "
          << count_of(b, "items_per_second") << " |\n";
    }
    out << '\n';
  }
  return out.str();
}

// ---- the machine and the suite ----

std::string machine_section(const suite_results& s) {
  const auto& m = s.machine;
  std::ostringstream out;
  out << "* " << m.value("cores", 0) << " cores (" << m.value("cpu", "?") << "), "
      << grouped(static_cast<double>(m.value("memory_kb", 0)) / 1024 / 1024) << " GB RAM, Linux "
      << m.value("kernel", "?") << "; the data folder on " << m.value("filesystem", "?") << ".\n";
  const auto* probe = s.find("probe-fdatasync");
  const json* pr = probe ? probe->system("cairn") : nullptr;
  if (pr != nullptr && number(*pr, "fdatasync_p50_us"))
    out << "* `fdatasync` of a 100-byte append, measured at the start of the suite (1,000 times, `"
        << probe->command << "`): **p50 " << micros(*number(*pr, "fdatasync_p50_us")) << " µs**.\n";
  out << "* " << m.value("compiler", "?") << " (Release, `-O3`), CAF 0.17.6, RocksDB 7.8.3 (Debian bookworm).\n"
      << "* cairn at commit `" << m.value("commit", "?") << "`"
      << (m.value("dirty", false) ? " (with uncommitted changes)" : "")
      << ", run on " << m.value("date", "?") << ".\n"
      << "* Load average when the suite started: " << m.value("load_start", "?")
      << "; when it ended: " << s.suite.value("load_end", "?")
      << ". Other processes on this machine share its cores: compare figures of the same run.";
  return out.str();
}

std::string suite_section(const suite_results& s) {
  std::ostringstream out;
  out << "Generated by `./dev bench` (`benchmarks/suite.sh`, then `bench-report`) from the repository's root, in "
      << fixed(s.suite.value("wall_seconds", 0.0), 0)
      << " s of wall time (the build not included), with these commands, in this order:\n\n"
      << "| command | wall time, s |\n|---|---:|\n";
  const auto row = [&](const std::string& command, double seconds) {
    out << "| `" << command << "` | " << fixed(seconds, 1) << " |\n";
  };
  for (const auto& inv : s.invocations)
    row(inv.command, inv.wall_seconds);
  if (!s.store_bench_command.empty())
    row(s.store_bench_command, s.store_bench_seconds);
  if (!s.micro_command.empty())
    row(s.micro_command, s.micro_seconds);
  return out.str();
}

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    throw std::runtime_error{"cannot read " + path};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Blank lines between generated parts collapse to one.
std::string collapse_blank_lines(const std::string& text) {
  std::string out;
  for (const char c : text)
    if (!(c == '\n' && out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n'))
      out.push_back(c);
  return out;
}

void replace(std::string& text, const std::string& marker, const std::string& with) {
  const auto at = text.find(marker);
  if (at == std::string::npos)
    throw std::runtime_error{"the template has no " + marker};
  text.replace(at, marker.size(), with);
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench-report: docs/benchmarks.md and its plots from the results of benchmarks/suite.sh"};
  std::string results_path;
  std::string micro_path;
  std::string template_path;
  std::string out_path;
  std::string work_dir;
  std::string image_dir;
  std::string image_link = "img";
  app.add_option("--results", results_path, "The suite's JSON lines")->required()->check(CLI::ExistingFile);
  app.add_option("--micro", micro_path, "Google Benchmark's JSON output")->check(CLI::ExistingFile);
  app.add_option("--template", template_path, "The markdown template")->required()->check(CLI::ExistingFile);
  app.add_option("--out", out_path, "The markdown to write")->required();
  app.add_option("--work-dir", work_dir, "Where the plots' data and gnuplot script go")
    ->required()
    ->check(CLI::ExistingDirectory);
  app.add_option("--image-dir", image_dir, "Where gnuplot writes the PNGs")->required()->check(CLI::ExistingDirectory);
  app.add_option("--image-link", image_link, "The PNGs' folder as the markdown links it")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const auto results = load_results(results_path, micro_path);
    const auto pngs =
      write_plots(results, std::filesystem::absolute(work_dir), std::filesystem::absolute(image_dir));
    auto doc = read_all(template_path);
    replace(doc, "@MACHINE@", machine_section(results));
    replace(doc, "@RESULTS@", results_section(results));
    replace(doc, "@SWEEP@", sweep_section(results, pngs, image_link));
    replace(doc, "@GOALS@", goals_section(results));
    replace(doc, "@STORE@", store_section(results));
    replace(doc, "@SUITE@", suite_section(results));
    std::ofstream out{out_path};
    if (!(out << collapse_blank_lines(doc)))
      throw std::runtime_error{"cannot write " + out_path};
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench-report: " << e.what() << '\n';
    return 1;
  }
}
