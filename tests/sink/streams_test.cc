// Stream policy and copy framing, without a store or sockets: the head reader is a map.
#include "sink/streams.h"

#include <map>
#include <string>
#include <vector>

#include "tests/testing/prelude.h"

namespace topicwire::sink {
namespace {

using namespace ::topicwire::testing::prelude;

v1::TaggedArticle MakeArticle(const std::string& id, const std::vector<std::string>& topics) {
  v1::TaggedArticle article;
  article.mutable_article()->set_id(id);
  for (const std::string& topic : topics) article.add_tags()->set_topic(topic);
  return article;
}

// Stream heads as a store would read them, counting the reads.
class FakeHeads {
 public:
  explicit FakeHeads(std::map<std::string, uint64_t> heads) : heads_(std::move(heads)) {}
  StreamSequences::HeadReader Reader() {
    return [this](const std::string& stream) -> absl::StatusOr<uint64_t> {
      ++reads_[stream];
      if (stream == "broken") return absl::UnavailableError("disk gone");
      auto it = heads_.find(stream);
      return it == heads_.end() ? 0 : it->second;
    };
  }
  int reads(const std::string& stream) { return reads_[stream]; }

 private:
  std::map<std::string, uint64_t> heads_;
  std::map<std::string, int> reads_;
};

TEST(StreamsOfTest, TagTopicsInOrderWithoutRepeatsOrUntagged) {
  EXPECT_THAT(StreamsOf(MakeArticle("a", {"quantum", "ai", "quantum"})),
              ElementsAre("quantum", "ai"));
  EXPECT_THAT(StreamsOf(MakeArticle("a", {})), ElementsAre("untagged"));
  EXPECT_THAT(StreamsOf(MakeArticle("a", {""})), ElementsAre("untagged"));
}

TEST(StreamSequencesTest, ContinuesEachStreamAfterItsStoredHeadWithoutHoles) {
  FakeHeads heads({{"ai", 7}});
  StreamSequences sequences(heads.Reader());
  absl::StatusOr<std::vector<StreamPosition>> first =
      sequences.Place(MakeArticle("a", {"ai", "quantum"}));
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(*first, ElementsAre(StreamPosition{"ai", 8}, StreamPosition{"quantum", 1}));
  absl::StatusOr<std::vector<StreamPosition>> second = sequences.Place(MakeArticle("b", {"ai"}));
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(*second, ElementsAre(StreamPosition{"ai", 9}));
  absl::StatusOr<std::vector<StreamPosition>> untagged = sequences.Place(MakeArticle("c", {}));
  ASSERT_THAT(untagged, IsOk());
  EXPECT_THAT(*untagged, ElementsAre(StreamPosition{kUntaggedStream, 1}));
  EXPECT_EQ(heads.reads("ai"), 1);  // read once, then counted in memory
}

TEST(StreamSequencesTest, ForgetRereadsTheHeadsAfterARollback) {
  FakeHeads heads({{"ai", 2}});
  StreamSequences sequences(heads.Reader());
  ASSERT_THAT(sequences.Place(MakeArticle("a", {"ai"})), IsOk());  // 3, then rolled back
  sequences.Forget();
  absl::StatusOr<std::vector<StreamPosition>> again = sequences.Place(MakeArticle("a", {"ai"}));
  ASSERT_THAT(again, IsOk());
  EXPECT_THAT(*again, ElementsAre(StreamPosition{"ai", 3}));
  EXPECT_EQ(heads.reads("ai"), 2);
}

TEST(StreamSequencesTest, AFailingHeadReadIsReturned) {
  FakeHeads heads({});
  StreamSequences sequences(heads.Reader());
  EXPECT_THAT(sequences.Place(MakeArticle("a", {"ai", "broken"})),
              StatusIs(absl::StatusCode::kUnavailable));
}

TEST(CopyFramesTest, TopicFrameThenTheStoredArticleWithItsStreamFields) {
  v1::TaggedArticle stored = MakeArticle("a", {"ai", "quantum"});
  stored.set_sequence(4);
  stored.mutable_stored_at()->set_seconds(1'800'000'000);
  Frames frames = CopyFrames(stored.SerializeAsString(), StreamPosition{"quantum", 12});
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].to_string(), "quantum");
  v1::TaggedArticle copy;
  ASSERT_TRUE(copy.ParseFromString(frames[1].to_string()));
  v1::TaggedArticle expected = stored;
  expected.set_stream("quantum");
  expected.set_stream_sequence(12);
  EXPECT_EQ(copy.SerializeAsString(), expected.SerializeAsString());
}

}  // namespace
}  // namespace topicwire::sink
