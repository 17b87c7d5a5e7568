// SubscriptionLimit: how many subscriptions each client address has sent the stream socket, and
// which of its connections to cut once it sends more than it may.
//
// XPUB does not say which connection a subscription came from, only its peer's address (the
// "Peer-Address" property of the message), and libzmq keeps every subscription a connection sent
// until that connection closes. So the count is per address, over all of the address's open
// connections, and the remedy is to close all of them: their subscriptions go with them. The
// connections are known from the stream socket's monitor (accepted: fd; disconnected: fd).
#ifndef TOPICWIRE_SINK_SUBSCRIPTION_LIMIT_H_
#define TOPICWIRE_SINK_SUBSCRIPTION_LIMIT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace topicwire::sink {

class SubscriptionLimit {
 public:
  // At most `max_per_address` subscriptions from one address while it has a connection open
  // (0: no limit).
  explicit SubscriptionLimit(int64_t max_per_address) : max_per_address_(max_per_address) {}

  // A connection from `address` was accepted on socket `fd`.
  void Accepted(int fd, const std::string& address);
  // The connection on `fd` is gone; an address with no connection left starts again from zero.
  void Closed(int fd);

  // Counts one subscription from `address`; true when that puts the address over its limit
  // (its count then starts again from zero): its Connections() are to be cut. An address with
  // no open connection is not counted.
  bool Subscribed(const std::string& address);
  // Whether `address` has an open connection.
  bool Known(const std::string& address) const { return by_address_.contains(address); }
  // The open connections from `address`.
  std::vector<int> Connections(const std::string& address) const;

  // Addresses with at least one connection open.
  size_t addresses() const { return by_address_.size(); }

 private:
  struct Address {
    int64_t subscriptions = 0;
    std::vector<int> fds;
  };

  int64_t max_per_address_;
  absl::flat_hash_map<std::string, Address> by_address_;
  absl::flat_hash_map<int, std::string> address_of_fd_;
};

}  // namespace topicwire::sink

#endif  // TOPICWIRE_SINK_SUBSCRIPTION_LIMIT_H_
