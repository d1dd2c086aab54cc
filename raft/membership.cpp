#include "raft/membership.h"

#include <algorithm>
#include <charconv>

#include "proto_msgs/messages.h"

namespace bazaar::raft {

const char* to_string(ChangeKind k) {
  switch (k) {
    case ChangeKind::kNone:
      return "none";
    case ChangeKind::kAddLearner:
      return "add learner";
    case ChangeKind::kPromote:
      return "promote";
    case ChangeKind::kRemove:
      return "remove";
    case ChangeKind::kInvalid:
      return "invalid";
  }
  return "?";
}

Membership::Membership(std::vector<Member> members) {
  std::stable_sort(members.begin(), members.end(),
                   [](const Member& a, const Member& b) { return a.id < b.id; });
  for (auto& m : members) {
    if (members_.empty() || members_.back().id != m.id) members_.push_back(std::move(m));
  }
}

Membership Membership::of_voters(const std::vector<std::uint32_t>& ids) {
  std::vector<Member> members;
  for (auto id : ids) members.push_back({.id = id, .voter = true, .endpoint = {}});
  return Membership(std::move(members));
}

std::vector<std::uint32_t> Membership::voters() const {
  std::vector<std::uint32_t> out;
  for (const auto& m : members_) {
    if (m.voter) out.push_back(m.id);
  }
  return out;
}

std::size_t Membership::voter_count() const {
  return static_cast<std::size_t>(
      std::count_if(members_.begin(), members_.end(), [](const Member& m) { return m.voter; }));
}

bool Membership::is_voter(std::uint32_t id) const {
  const Member* m = find(id);
  return m != nullptr && m->voter;
}

const Member* Membership::find(std::uint32_t id) const {
  auto it =
      std::find_if(members_.begin(), members_.end(), [id](const Member& m) { return m.id == id; });
  return it == members_.end() ? nullptr : &*it;
}

Membership Membership::with(Member m) const {
  std::vector<Member> members = without(m.id).members_;
  members.push_back(std::move(m));
  return Membership(std::move(members));
}

Membership Membership::without(std::uint32_t id) const {
  std::vector<Member> members;
  for (const auto& m : members_) {
    if (m.id != id) members.push_back(m);
  }
  Membership out;
  out.members_ = std::move(members);
  return out;
}

ChangeKind Membership::change_to(const Membership& next) const {
  if (next == *this) return ChangeKind::kNone;
  if (next.voter_count() == 0) return ChangeKind::kInvalid;
  // Exactly one id may differ (in presence or in role); every other member stays as it is.
  std::vector<std::uint32_t> changed;
  for (const auto& m : members_) {
    const Member* n = next.find(m.id);
    if (n == nullptr || !(*n == m)) changed.push_back(m.id);
  }
  for (const auto& n : next.members_) {
    if (!contains(n.id)) changed.push_back(n.id);
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  if (changed.size() != 1) return ChangeKind::kInvalid;
  const Member* before = find(changed[0]);
  const Member* after = next.find(changed[0]);
  if (before == nullptr) return after->voter ? ChangeKind::kInvalid : ChangeKind::kAddLearner;
  if (after == nullptr) return ChangeKind::kRemove;
  // A learner becomes a voter at the same endpoint; nothing else changes in place (a voter
  // demoted would need a second step to be safe, and an endpoint moves by remove and add).
  if (!before->voter && after->voter && before->endpoint == after->endpoint) {
    return ChangeKind::kPromote;
  }
  return ChangeKind::kInvalid;
}

std::string Membership::encode() const {
  std::string out;
  for (const auto& m : members_) {
    if (!out.empty()) out += ' ';
    out += std::to_string(m.id);
    out += m.voter ? ":v:" : ":l:";
    out += m.endpoint;
  }
  return out;
}

std::optional<Membership> Membership::decode(std::string_view text) {
  std::vector<Member> members;
  std::vector<std::uint32_t> seen;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find(' '), text.size());
    const std::string_view item = text.substr(0, end);
    text.remove_prefix(end == text.size() ? end : end + 1);
    if (item.empty()) return std::nullopt;  // two spaces, or a leading/trailing one
    Member m;
    const char* const first = item.data();
    const char* const last = item.data() + item.size();
    auto [p, ec] = std::from_chars(first, last, m.id);
    if (ec != std::errc() || m.id < 1 || m.id > proto::kMaxReplicaId) return std::nullopt;
    if (last - p < 3 || p[0] != ':' || (p[1] != 'v' && p[1] != 'l') || p[2] != ':') {
      return std::nullopt;
    }
    m.voter = p[1] == 'v';
    m.endpoint.assign(p + 3, last);
    if (std::find(seen.begin(), seen.end(), m.id) != seen.end()) return std::nullopt;
    seen.push_back(m.id);
    members.push_back(std::move(m));
  }
  if (members.empty()) return std::nullopt;
  return Membership(std::move(members));
}

}  // namespace bazaar::raft
