// SubscriptionLimit: counts per address, connections per address.
#include "sink/subscription_limit.h"

#include <algorithm>

namespace topicwire::sink {

void SubscriptionLimit::Accepted(int fd, const std::string& address) {
  Closed(fd);  // a number the kernel handed out again: the old connection is over
  address_of_fd_[fd] = address;
  by_address_[address].fds.push_back(fd);
}

void SubscriptionLimit::Closed(int fd) {
  auto it = address_of_fd_.find(fd);
  if (it == address_of_fd_.end()) return;
  auto address = by_address_.find(it->second);
  if (address != by_address_.end()) {
    std::vector<int>& fds = address->second.fds;
    fds.erase(std::remove(fds.begin(), fds.end(), fd), fds.end());
    if (fds.empty()) by_address_.erase(address);
  }
  address_of_fd_.erase(it);
}

bool SubscriptionLimit::Subscribed(const std::string& address) {
  if (max_per_address_ <= 0) return false;
  // No open connection: whatever it subscribed went when its connection closed.
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return false;
  if (++it->second.subscriptions <= max_per_address_) return false;
  it->second.subscriptions = 0;
  return true;
}

std::vector<int> SubscriptionLimit::Connections(const std::string& address) const {
  auto it = by_address_.find(address);
  return it == by_address_.end() ? std::vector<int>{} : it->second.fds;
}

}  // namespace topicwire::sink
