#include "bench/passthrough.h"

#include <deque>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/shutdown.h"
#include "common/status_macros.h"
#include "common/zmq_channel.h"
#include "proto/article.pb.h"
#include "proto/internal.pb.h"

namespace topicwire::bench {
namespace {

absl::StatusOr<std::string> BindLoopback(zmq::socket_t& socket) {
  RETURN_IF_ERROR(ConfigureSocket(socket, 0));
  RETURN_IF_ERROR(Bind(socket, "tcp://127.0.0.1:*"));
  return LastEndpoint(socket);
}

class PassthroughImpl : public Passthrough {
 public:
  PassthroughImpl(zmq::context_t& context, Shutdown shutdown)
      : context_(context), shutdown_(std::move(shutdown)) {}

  ~PassthroughImpl() override {
    shutdown_.Trigger();
    for (std::thread& t : threads_) t.join();
  }

  absl::Status Init() {
    // Before binding: a listener copies the socket's options when it binds, so a later
    // high-water mark would not apply and PUB would drop beyond the default 1000 messages.
    stream_.set(zmq::sockopt::sndhwm, 0);
    ASSIGN_OR_RETURN(publish_endpoint_, BindLoopback(publish_));
    ASSIGN_OR_RETURN(work_endpoint_, BindLoopback(work_));
    ASSIGN_OR_RETURN(commit_endpoint_, BindLoopback(commit_));
    ASSIGN_OR_RETURN(input_endpoint_, BindLoopback(input_));
    ASSIGN_OR_RETURN(stream_endpoint_, BindLoopback(stream_));
    RETURN_IF_ERROR(ConfigureSocket(worker_in_, 0));
    RETURN_IF_ERROR(ConfigureSocket(worker_out_, 0));
    RETURN_IF_ERROR(ConfigureSocket(sink_commit_, 0));
    RETURN_IF_ERROR(Connect(worker_in_, work_endpoint_));
    RETURN_IF_ERROR(Connect(worker_out_, input_endpoint_));
    RETURN_IF_ERROR(Connect(sink_commit_, commit_endpoint_));
    threads_.emplace_back([this] { Ingest(); });
    threads_.emplace_back([this] { Worker(); });
    threads_.emplace_back([this] { Sink(); });
    return absl::OkStatus();
  }

  const std::string& publish_endpoint() const override { return publish_endpoint_; }
  const std::string& stream_endpoint() const override { return stream_endpoint_; }

 private:
  // Waits until one of `items` is readable. False when the wait fails or shutdown_ fired, which
  // every thread polls as its last item.
  bool AwaitInput(std::vector<zmq::pollitem_t>& items) {
    return Poll(items, absl::InfiniteDuration()).ok() && !(items.back().revents & ZMQ_POLLIN);
  }

  // Receives PublishRequests, answers ACCEPTED, hands WorkItems to the worker against credit,
  // consumes CommitAcks: ingest's hops and encode/decode without validation or journal.
  void Ingest() {
    std::vector<zmq::pollitem_t> items = {{publish_.handle(), 0, ZMQ_POLLIN, 0},
                                          {work_.handle(), 0, ZMQ_POLLIN, 0},
                                          {commit_.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, shutdown_.fd(), ZMQ_POLLIN, 0}};
    std::deque<v1::WorkItem> queue;
    std::string worker;  // routing id of the one worker
    int64_t credit = 0;
    uint64_t journal_seq = 0;
    Frames frames;
    while (AwaitInput(items)) {
      while (RecvFrames(publish_, frames, true).value_or(false)) {
        v1::PublishRequest request;
        if (!ParseFrame(frames.back(), request).ok()) continue;
        v1::PublishReply reply;
        for (int i = 0; i < request.articles_size(); ++i) {
          v1::PublishAck* ack = reply.add_acks();
          ack->set_index(i);
          ack->set_id(request.articles(i).id());
          ack->set_status(v1::PublishAck::ACCEPTED);
          v1::WorkItem& item = queue.emplace_back();
          item.set_journal_seq(++journal_seq);
          *item.mutable_article() = std::move(*request.mutable_articles(i));
          item.set_attempt(1);
        }
        frames.back() = ToFrame(reply);
        (void)SendFrames(publish_, frames);
      }
      while (RecvFrames(work_, frames, true).value_or(false)) {
        v1::WorkerMessage message;
        if (frames.size() != 2 || !ParseFrame(frames[1], message).ok()) continue;
        worker = frames[0].to_string();
        if (message.has_credit()) credit += message.credit().credit();
      }
      while (RecvFrames(commit_, frames, true).value_or(false)) {
        v1::CommitAck ack;
        (void)ParseFrame(frames.back(), ack);
      }
      while (credit > 0 && !queue.empty() && !worker.empty()) {
        v1::Dispatch dispatch;
        while (credit > 0 && !queue.empty() && dispatch.items_size() < 32) {
          *dispatch.add_items() = std::move(queue.front());
          queue.pop_front();
          --credit;
        }
        Frames out;
        out.emplace_back(worker.data(), worker.size());
        out.push_back(ToFrame(dispatch));
        (void)SendFrames(work_, out);
      }
    }
  }

  // Turns each WorkItem into a Delivery of a TaggedArticle with one fixed tag.
  void Worker() {
    std::vector<zmq::pollitem_t> items = {{worker_in_.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, shutdown_.fd(), ZMQ_POLLIN, 0}};
    constexpr int kCredit = 256;
    v1::WorkerMessage grant;
    grant.mutable_credit()->set_credit(kCredit);
    grant.mutable_credit()->set_registers(true);
    (void)SendProto(worker_in_, grant);
    Frames frames;
    while (AwaitInput(items)) {
      while (RecvFrames(worker_in_, frames, true).value_or(false)) {
        v1::Dispatch dispatch;
        if (!ParseFrame(frames.back(), dispatch).ok()) continue;
        for (v1::WorkItem& item : *dispatch.mutable_items()) {
          v1::Delivery delivery;
          delivery.set_journal_seq(item.journal_seq());
          v1::TaggedArticle* tagged = delivery.mutable_tagged();
          *tagged->mutable_article() = std::move(*item.mutable_article());
          v1::Tag* tag = tagged->add_tags();
          tag->set_topic("ai");
          tag->set_score(1);
          (void)SendProto(worker_out_, delivery);
        }
        v1::WorkerMessage more;
        more.mutable_credit()->set_credit(dispatch.items_size());
        (void)SendProto(worker_in_, more);
      }
    }
  }

  // Publishes every Delivery once per tag and confirms the batch to ingest.
  void Sink() {
    std::vector<zmq::pollitem_t> items = {{input_.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, shutdown_.fd(), ZMQ_POLLIN, 0}};
    uint64_t sequence = 0;
    Frames frames;
    while (AwaitInput(items)) {
      v1::CommitAck ack;
      while (ack.committed_size() < 256 && RecvFrames(input_, frames, true).value_or(false)) {
        v1::Delivery delivery;
        if (!ParseFrame(frames.back(), delivery).ok()) continue;
        v1::TaggedArticle* tagged = delivery.mutable_tagged();
        tagged->set_sequence(++sequence);
        for (const v1::Tag& tag : delivery.tagged().tags()) {
          tagged->set_stream(tag.topic());
          tagged->set_stream_sequence(sequence);
          Frames out;
          out.emplace_back(tag.topic().data(), tag.topic().size());
          out.push_back(ToFrame(*tagged));
          (void)SendFrames(stream_, out);
        }
        v1::CommitAck::Committed* committed = ack.add_committed();
        committed->set_journal_seq(delivery.journal_seq());
        committed->set_article_id(tagged->article().id());
      }
      if (ack.committed_size() > 0) (void)SendProto(sink_commit_, ack);
    }
  }

  zmq::context_t& context_;
  Shutdown shutdown_;
  zmq::socket_t publish_{context_, zmq::socket_type::router};
  zmq::socket_t work_{context_, zmq::socket_type::router};
  zmq::socket_t commit_{context_, zmq::socket_type::pull};
  zmq::socket_t worker_in_{context_, zmq::socket_type::dealer};
  zmq::socket_t worker_out_{context_, zmq::socket_type::push};
  zmq::socket_t input_{context_, zmq::socket_type::pull};
  zmq::socket_t stream_{context_, zmq::socket_type::pub};
  zmq::socket_t sink_commit_{context_, zmq::socket_type::push};
  std::string publish_endpoint_, work_endpoint_, commit_endpoint_, input_endpoint_,
      stream_endpoint_;
  std::vector<std::thread> threads_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Passthrough>> Passthrough::Start(zmq::context_t& context) {
  ASSIGN_OR_RETURN(Shutdown shutdown, Shutdown::Manual());
  auto passthrough = std::make_unique<PassthroughImpl>(context, std::move(shutdown));
  RETURN_IF_ERROR(passthrough->Init());
  return passthrough;
}

}  // namespace topicwire::bench
