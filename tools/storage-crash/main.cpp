// keepa-storage-crash <sqlite-file> <first-minute> <seed>
//
// The child of the storage crash test: drives a detached STORAGE actor with
// upserts as fast as it can until it is killed. Windows of four batches are
// tracked first and stored in a shuffled order, so the watermark lags behind
// the newest stored batch. On stdout, unbuffered, it writes
//   sent <minute>                     before each upsert
//   ack <minute> <wm-minute> <wm-asin> after the upsert returned
// so the parent knows which batches were acknowledged.

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/storage/storage.hpp"
#include "config/cli.hpp"
#include "messages/error.hpp"
#include "tools/storage-crash/workload.hpp"

using namespace keepa;

namespace {

void say(const std::string& line) {
  auto text = line + "\n";
  auto n = write(STDOUT_FILENO, text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size()))
    _exit(3);
}

struct config : caf::actor_system_config {
  config() {
    keepa::add_message_types(*this);
  }
};

} // namespace

int main(int argc, char** argv) {
  if (auto code = keepa::positional_cli(
        argc, argv,
        "keepa-storage-crash <sqlite-file> <first-minute> <seed>\n"
        "The child of the storage crash test: upserts into a detached STORAGE "
        "actor until it is killed."))
    return *code;
  if (argc != 4) {
    fprintf(stderr, "usage: %s <sqlite-file> <first-minute> <seed>\n", argv[0]);
    return 2;
  }
  std::string file = argv[1];
  auto minute = static_cast<int32_t>(std::atol(argv[2]));
  std::mt19937 rng{static_cast<uint32_t>(std::atol(argv[3]))};
  config cfg;
  caf::actor_system sys{cfg};
  storage_config scfg;
  scfg.url = "sqlite:" + file;
  auto st = spawn_storage(sys, scfg, true);
  if (!st) {
    say("error " + render(st.error()));
    return 1;
  }
  caf::scoped_actor self{sys};
  auto fail = [&](const caf::error& err) {
    say("error " + render(err));
    _exit(1);
  };
  for (int64_t now_ms = 1'700'000'000'000;; now_ms += 1000) {
    std::vector<int32_t> window;
    std::vector<feed_position> tracked;
    for (int i = 0; i < crash::batches_per_window; ++i, ++minute) {
      window.push_back(minute);
      auto xs = crash::positions_of(minute);
      tracked.insert(tracked.end(), xs.begin(), xs.end());
    }
    self->request(*st, caf::infinite, atom::track_v, tracked)
      .receive([](uint64_t) {}, fail);
    std::shuffle(window.begin(), window.end(), rng);
    for (auto m : window) {
      say("sent " + std::to_string(m));
      self
        ->request(*st, caf::infinite, atom::upsert_v,
                  crash::batch_of(m, now_ms))
        .receive(
          [&](const upsert_ack& ack) {
            say("ack " + std::to_string(m) + " "
                + std::to_string(ack.watermark.last_update) + " "
                + (ack.watermark.asin.empty() ? "-" : ack.watermark.asin));
          },
          fail);
    }
  }
}
