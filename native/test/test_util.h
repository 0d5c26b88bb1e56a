// A minimal check/report harness for the standalone native test programs.
#pragma once

#include <cstdio>
#include <sstream>
#include <string>

namespace wdm::test {

struct Counters {
  int checks = 0;
  int failures = 0;
  int cases = 0;
};

inline Counters& counters() {
  static Counters c;
  return c;
}

template <typename T>
std::string Show(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

inline bool Report(bool ok, const char* file, int line, const std::string& what) {
  ++counters().checks;
  if (!ok) {
    ++counters().failures;
    std::fprintf(stderr, "%s:%d: FAILED %s\n", file, line, what.c_str());
  }
  return ok;
}

// Evaluates each side once (arguments may have side effects).
template <typename A, typename B>
bool CheckEq(const A& a, const B& b, const char* file, int line, const char* expr) {
  if (a == b) return Report(true, file, line, expr);
  return Report(false, file, line, std::string(expr) + " (" + Show(a) + " vs " + Show(b) + ")");
}

inline int Finish(const char* program) {
  const Counters& c = counters();
  std::printf("%s: %d cases, %d checks, %d failures\n", program, c.cases, c.checks, c.failures);
  return c.failures == 0 ? 0 : 1;
}

}  // namespace wdm::test

#define CHECK(cond) ::wdm::test::Report(static_cast<bool>(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b) ::wdm::test::CheckEq((a), (b), __FILE__, __LINE__, #a " == " #b)
// Runs one test function from main().
#define RUN(fn) (++::wdm::test::counters().cases, fn())
