#include "tests/chaos/consistency_checker.h"

#include <set>
#include <string_view>
#include <unordered_map>

namespace bazaar::chaos {

namespace {

// Lines printed per category before the rest is only counted.
constexpr int kLinesPerCategory = 12;

std::string describe(bool sell, std::int64_t quantity, const std::string& name) {
  return std::string(sell ? "sell " : "buy ") + std::to_string(quantity) + " " + name;
}

std::string dump_line(const CommittedOrder& o) {
  return std::to_string(o.number) + " " + o.name + " " + (o.sell ? "sell" : "buy") + " " +
         std::to_string(o.quantity);
}

}  // namespace

ConsistencyChecker::ConsistencyChecker(const CheckInput& input) {
  const ReplicaState* first = nullptr;
  for (const auto& r : input.replicas) {
    if (r.error.empty()) {
      first = &r;
      break;
    }
  }
  identical_logs(input);
  if (first == nullptr) {
    add("read", "no replica's log could be read");
    return;
  }
  committed_ = static_cast<std::int64_t>(first->orders.size());
  numbering(first->orders);
  exactly_once(input, first->orders);
  conservation(input, first->orders);
  client_reads(input);
  for (const auto& [category, count] : per_category_) {
    if (count > kLinesPerCategory) {
      violations_.push_back(category + ": ... and " + std::to_string(count - kLinesPerCategory) +
                            " more");
    }
  }
}

void ConsistencyChecker::add(const std::string& category, const std::string& line) {
  if (++per_category_[category] <= kLinesPerCategory) violations_.push_back(category + ": " + line);
}

void ConsistencyChecker::identical_logs(const CheckInput& in) {
  const ReplicaState* ref = nullptr;
  for (const auto& r : in.replicas) {
    if (!r.error.empty()) {
      add("G3 identical logs", "cannot read " + r.name + ": " + r.error);
      continue;
    }
    // The dump (the operator's view) and the database (with request ids) must say the same.
    if (r.dump.size() != r.orders.size()) {
      add("G3 identical logs", r.name + ": dump prints " + std::to_string(r.dump.size()) +
                                   " orders, its database holds " +
                                   std::to_string(r.orders.size()) + " committed");
    } else {
      for (std::size_t i = 0; i < r.dump.size(); ++i) {
        if (r.dump[i] != dump_line(r.orders[i])) {
          add("G3 identical logs", r.name + ": dump line '" + r.dump[i] + "' but database '" +
                                       dump_line(r.orders[i]) + "'");
          break;
        }
      }
    }
    if (ref == nullptr) {
      ref = &r;
      continue;
    }
    if (r.dump == ref->dump && r.orders == ref->orders) continue;
    std::size_t i = 0;
    while (i < r.orders.size() && i < ref->orders.size() && r.orders[i] == ref->orders[i]) ++i;
    std::string where;
    if (i < r.orders.size() && i < ref->orders.size()) {
      where = "first difference at position " + std::to_string(i) + ": " + ref->name + " '" +
              dump_line(ref->orders[i]) + "' (" + ref->orders[i].request_id + "), " + r.name +
              " '" + dump_line(r.orders[i]) + "' (" + r.orders[i].request_id + ")";
    } else {
      where = "one is a prefix of the other";
    }
    add("G3 identical logs", r.name + " holds " + std::to_string(r.orders.size()) +
                                 " committed orders, " + ref->name + " " +
                                 std::to_string(ref->orders.size()) + "; " + where);
  }
}

void ConsistencyChecker::numbering(const std::vector<CommittedOrder>& log) {
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i].number != static_cast<std::int64_t>(i)) {
      add("G3 numbering", "position " + std::to_string(i) + " holds order number " +
                              std::to_string(log[i].number) + " (" + log[i].request_id + ")");
    }
  }
}

void ConsistencyChecker::exactly_once(const CheckInput& in,
                                      const std::vector<CommittedOrder>& log) {
  // Views into `in` and `log`, which outlive the maps: an hour's run holds about a million
  // keys, and copies of every key and request id would double the harness's memory.
  std::unordered_map<std::string_view, const KeyRecord*> keys;
  keys.reserve(in.keys.size());
  // One-shot orders have no key: an acknowledged one is found by its number, and the orders
  // no key explains may be at most the one-shot orders that were given up on.
  std::unordered_map<std::int64_t, const KeyRecord*> oneshot_acked;
  std::int64_t oneshot_given_up = 0;
  for (const auto& k : in.keys) {
    if (!k.oneshot) {
      keys.emplace(k.key, &k);
    } else if (k.outcome == KeyOutcome::kAcknowledged) {
      oneshot_acked.emplace(k.number, &k);
    } else if (k.outcome == KeyOutcome::kUnfinished) {
      ++oneshot_given_up;
    }
  }
  std::int64_t unexplained = 0;
  std::unordered_map<std::string_view, const CommittedOrder*> by_id;  // the first of each id
  by_id.reserve(log.size());
  std::map<std::string_view, std::string> repeated;  // id -> the numbers it was committed as
  for (const auto& o : log) {
    const auto [it, fresh] = by_id.emplace(o.request_id, &o);
    if (fresh) continue;
    std::string& numbers = repeated[o.request_id];
    // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on " " + std::to_string(...).
    if (numbers.empty()) numbers += std::to_string(it->second->number);
    numbers += ' ';
    numbers += std::to_string(o.number);
  }
  for (const auto& [id, numbers] : repeated) {
    add("G1 exactly once",
        "request id " + std::string(id) + " committed more than once, as orders " + numbers);
  }
  for (const auto& o : log) {
    const auto k = keys.find(o.request_id);
    if (k == keys.end()) {
      if (const auto a = oneshot_acked.find(o.number); a != oneshot_acked.end()) {
        const KeyRecord& one = *a->second;
        if (one.name != o.name || one.sell != o.sell || one.quantity != o.quantity) {
          add("G1 as acknowledged",
              "order " + std::to_string(o.number) + " (acknowledged to a one-shot client) is '" +
                  describe(o.sell, o.quantity, o.name) + "' but the client asked '" +
                  describe(one.sell, one.quantity, one.name) + "'");
        }
        continue;
      }
      if (++unexplained <= oneshot_given_up) continue;  // a given-up one-shot order that landed
      add("G2 order without a request", "order " + std::to_string(o.number) + " '" + dump_line(o) +
                                            "' has request id '" + o.request_id +
                                            "', which no client issued");
      continue;
    }
    const KeyRecord& key = *k->second;
    if (key.name != o.name || key.sell != o.sell || key.quantity != o.quantity) {
      add("G1 as acknowledged", "order " + std::to_string(o.number) + " for key " + key.key +
                                    " is '" + describe(o.sell, o.quantity, o.name) +
                                    "' but the client asked '" +
                                    describe(key.sell, key.quantity, key.name) + "'");
    }
    if (key.outcome == KeyOutcome::kRefused) {
      add("G1 as acknowledged", "key " + key.key + " was refused (409) yet committed as order " +
                                    std::to_string(o.number));
    }
  }
  for (const auto& key : in.keys) {
    if (key.oneshot) {
      if (key.outcome == KeyOutcome::kAcknowledged &&
          (key.number < 0 || key.number >= static_cast<std::int64_t>(log.size()))) {
        add("G1 acknowledged order lost",
            "a one-shot '" + describe(key.sell, key.quantity, key.name) +
                "' was acknowledged as order " + std::to_string(key.number) +
                ", which is not in the committed log");
      }
      if (key.outcome == KeyOutcome::kRejected) {
        add("unexpected reply", "one-shot '" + describe(key.sell, key.quantity, key.name) +
                                    "' got a final error: " + key.last_error);
      }
      continue;
    }
    const auto c = by_id.find(key.key);
    const CommittedOrder* o = c == by_id.end() ? nullptr : c->second;
    switch (key.outcome) {
      case KeyOutcome::kAcknowledged:
        if (o == nullptr) {
          add("G1 acknowledged order lost", "key " + key.key + " was acknowledged as order " +
                                                std::to_string(key.number) +
                                                " and is not in the committed log");
        } else if (o->number != key.number) {
          add("G1 as acknowledged", "key " + key.key + " was acknowledged as order " +
                                        std::to_string(key.number) + " but committed as order " +
                                        std::to_string(o->number));
        }
        break;
      case KeyOutcome::kRejected:
        add("unexpected reply", "key " + key.key + " (" +
                                    describe(key.sell, key.quantity, key.name) +
                                    ") got a final error: " + key.last_error);
        break;
      case KeyOutcome::kUnfinished:
        add("liveness", "key " + key.key + " (" + describe(key.sell, key.quantity, key.name) +
                            ") had no answer by the quiet deadline after " +
                            std::to_string(key.attempts) +
                            " attempts; last error: " + key.last_error +
                            (o ? "; it is committed as order " + std::to_string(o->number)
                               : "; it is not committed"));
        break;
      case KeyOutcome::kRefused:
        break;
    }
  }
}

void ConsistencyChecker::conservation(const CheckInput& in,
                                      const std::vector<CommittedOrder>& log) {
  std::map<std::string, std::int64_t> bought, sold;
  for (const auto& o : log) {
    (o.sell ? sold : bought)[o.name] += o.quantity;
    if (!in.initial.contains(o.name)) {
      add("G2 conservation", "order " + std::to_string(o.number) + " trades '" + o.name +
                                 "', which the catalog never held");
    }
  }
  bool mismatch = false;
  for (const auto& [name, initial] : in.initial) {
    const auto f = in.current.find(name);
    if (f == in.current.end()) {
      add("G2 conservation", "item " + name + " is gone from the catalog");
      mismatch = true;
      continue;
    }
    const std::int64_t expected = initial - bought[name] + sold[name];
    if (f->second != expected) {
      mismatch = true;
      add("G2 conservation",
          "item " + name + ": catalog holds " + std::to_string(f->second) + ", the log says " +
              std::to_string(expected) + " (initial " + std::to_string(initial) + ", bought " +
              std::to_string(bought[name]) + ", sold " + std::to_string(sold[name]) +
              "; catalog - log = " + std::to_string(f->second - expected) + ")");
    }
  }
  for (const auto& [name, q] : in.current) {
    if (!in.initial.contains(name)) {
      add("G2 conservation",
          "item " + name + " appeared in the catalog (quantity " + std::to_string(q) + ")");
    }
  }
  if (!mismatch || in.applied.empty()) return;
  // Explain the mismatch: trades the catalog applied with no committed order, and the reverse.
  std::set<std::string> committed_ids, applied_ids;
  for (const auto& o : log) committed_ids.insert(o.request_id);
  for (const auto& t : in.applied) {
    applied_ids.insert(t.request_id);
    if (!committed_ids.contains(t.request_id)) {
      add("G2 evidence", "the catalog applied '" + describe(t.sell, t.quantity, t.name) +
                             "' for request id " + t.request_id + ", which has no committed order");
    }
  }
  for (const auto& o : log) {
    if (!applied_ids.contains(o.request_id)) {
      add("G2 evidence", "order " + std::to_string(o.number) + " (" + o.request_id +
                             ") has no applied trade at the catalog");
    }
  }
}

}  // namespace bazaar::chaos

namespace bazaar::chaos {

void ConsistencyChecker::client_reads(const CheckInput& in) {
  for (const auto& k : in.keys) {
    const std::string who =
        k.oneshot ? "one-shot order " + std::to_string(k.number) : "key " + k.key;
    if (k.outcome == KeyOutcome::kAcknowledged && k.readback != ReadBack::kOk &&
        k.readback != ReadBack::kNotChecked) {
      add("G7 read back",
          who + " (" + describe(k.sell, k.quantity, k.name) + ") acknowledged as order " +
              std::to_string(k.number) + " by frontend-" + std::to_string(k.frontend + 1) +
              ", read back right after: " + to_string(k.readback) + ": " + k.readback_detail);
    }
    if (k.expected_quantity >= 0 && k.looked_up >= 0 && k.looked_up != k.expected_quantity) {
      add("G4 read-your-writes",
          who + " (" + describe(k.sell, k.quantity, k.name) + ", order " +
              std::to_string(k.number) + ") acknowledged by frontend-" +
              std::to_string(k.frontend + 1) + ", which then served " + k.name + " quantity " +
              std::to_string(k.looked_up) + "; after this order it is " +
              std::to_string(k.expected_quantity) + " (the client alone trades it)");
    }
  }
}

}  // namespace bazaar::chaos
