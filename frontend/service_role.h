// The role a service states in its StatusReply, as the front end acts on it: the reply carries
// text (proto_msgs), which is read once here so that decisions compare an enum.
#pragma once

#include <cstdint>
#include <string_view>

namespace bazaar::frontend {

enum class ServiceRole : std::uint8_t {
  kUnknown,    // any other text
  kLeader,     // an order replica that leads its term
  kFollower,   // an order replica that follows (its leader_id may name the leader)
  kCandidate,  // an order replica in an election
  kServing,    // the catalog or the broker
};

/// The role a StatusReply's `role` text names.
constexpr ServiceRole role_of(std::string_view text) {
  if (text == "leader") return ServiceRole::kLeader;
  if (text == "follower") return ServiceRole::kFollower;
  if (text == "candidate") return ServiceRole::kCandidate;
  if (text == "serving") return ServiceRole::kServing;
  return ServiceRole::kUnknown;
}

}  // namespace bazaar::frontend
