#include "bench/synthetic.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <vector>

#include "absl/strings/str_cat.h"

namespace topicwire::bench {
namespace {

// ---- The dense mix: a bag of technology words (unchanged since the first bench). ----

// Vocabulary for synthetic text: enough technology terms that tagging has real work to do.
constexpr const char* kWords[] = {
    "the",        "researchers",   "announced", "a",          "new",      "quantum",
    "processor",  "with",          "more",      "qubits",     "while",    "analysts",
    "expect",     "semiconductor", "demand",    "to",         "rise",     "as",
    "artificial", "intelligence",  "models",    "grow",       "larger",   "and",
    "humanoid",   "robots",        "learn",     "from",       "video",    "in",
    "factories",  "battery",       "electric",  "vehicle",    "makers",   "report",
    "record",     "sales",         "satellite", "launch",     "windows",  "open",
    "next",       "month",         "while",     "regulators", "study",    "blockchain",
    "settlement", "pilots",        "across",    "banks",      "clinical", "trial",
    "results",    "for",           "gene",      "therapy",    "were",     "published",
    "today",      "markets",       "closed",    "higher",     "on",       "strong",
    "earnings",   "weather",       "was",       "mild",       "across",   "the",
    "region",     "this",          "week"};

std::string SyntheticText(int64_t seed, size_t bytes) {
  std::string text;
  text.reserve(bytes + 16);
  uint64_t state = static_cast<uint64_t>(seed) * 6364136223846793005ULL + 1442695040888963407ULL;
  constexpr size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);
  while (text.size() < bytes) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    if (!text.empty()) text.push_back(' ');
    text.append(kWords[(state >> 33) % kWordCount]);
    if (((state >> 20) & 15) == 0) text.push_back('.');
  }
  return text;
}

// ---- The news mix: ordinary prose, sometimes about a technology topic. ----

// Sentences of everyday local and national news. None of them contains a term of the default
// taxonomy (NewsArticlesCarryOnlyTheirPlannedTopics in tests/bench checks this), so an
// article's tags come only from the topic sentences below.
constexpr const char* kNeutralSentences[] = {
    // Markets and business.
    "Shares of regional retailers rose for a third straight session.",
    "The main stock index ended the week slightly lower after a volatile Friday.",
    "Bond traders cut their bets on another rate rise before the summer.",
    "The national currency slipped against the dollar in thin afternoon trading.",
    "Oil prices climbed after producers signalled they would keep output unchanged.",
    "The city's largest grocery chain reported weaker sales than a year earlier.",
    "Home builders said fewer first-time buyers had signed contracts this spring.",
    "Airline stocks recovered most of Monday's losses as fuel costs eased.",
    "Wheat futures fell to their lowest level since the harvest began.",
    "The furniture maker raised its outlook for the rest of the year.",
    "Small business owners say rents in the high street have doubled in five years.",
    "Mortgage lenders trimmed the rates on their two-year fixed deals.",
    "The brewery will hire sixty people when its new bottling line opens.",
    "Insurance companies warned that storm claims would weigh on their profits.",
    "The shipping firm expects freight volumes to recover slowly over the winter.",
    "Consumer confidence improved for the second month in a row.",
    // Weather.
    "Forecasters expect heavy rain across the northern valleys on Thursday.",
    "A cold front will bring gusty winds and falling temperatures by the weekend.",
    "Residents along the coast were told to prepare for unusually high tides.",
    "The dry spell has left reservoirs at their lowest level in a decade.",
    "Snow closed two mountain passes overnight and drivers were told to stay home.",
    "Morning fog delayed several flights at the regional airport.",
    "Temperatures are expected to climb back into the low twenties by Sunday.",
    "Farmers said the late frost had damaged much of the apple blossom.",
    "The river burst its banks in two places after a week of steady rain.",
    "Gardeners have been asked to use watering cans instead of hoses until further notice.",
    // Sport.
    "The home side scored twice in the final ten minutes to win the derby.",
    "The veteran goalkeeper signed a two-year contract extension.",
    "Fans queued for hours to buy tickets for the cup final.",
    "The coach said his players had lacked energy in the second half.",
    "The marathon will close several streets in the old town on Sunday morning.",
    "A late penalty settled the match after a scrappy first half.",
    "The tennis champion withdrew from the tournament with a wrist injury.",
    "The cycling team named a young sprinter to lead its squad in the spring classics.",
    "The rugby club will play its home games at the county ground next season.",
    "The swimmer broke her own national record in the heats.",
    "Ticket prices for the league's opening weekend will stay the same as last year.",
    "The club's chairman said the new stand would be finished before Christmas.",
    // Politics.
    "Lawmakers debated the budget late into the night.",
    "The mayor promised to publish the full audit before the election.",
    "Opposition leaders called for an inquiry into the road contract.",
    "The governor signed a bill that raises the minimum wage in two steps.",
    "Voters in three districts will return to the polls next month.",
    "The finance minister defended the new tax on second homes.",
    "A cross-party committee will review the rules on short-term lets.",
    "The council postponed its vote on the parking plan until the autumn.",
    "Both candidates promised more money for schools and fewer potholes.",
    "The prime minister is expected to name a new foreign secretary this week.",
    "Turnout in the local elections was the highest in twenty years.",
    "The regional assembly agreed to freeze bus fares for another year.",
    // Local news.
    "The public library will extend its opening hours during the school holidays.",
    "Volunteers planted two hundred trees along the river path on Saturday.",
    "A new bakery has opened on the corner of Market Street and Mill Lane.",
    "The school board approved plans for a larger sports hall.",
    "Police asked drivers to avoid the old bridge while repairs continue.",
    "The annual food festival drew record crowds to the harbour.",
    "Residents gathered at the town hall to discuss the new bus timetable.",
    "The museum reopened its east wing after a year of renovation.",
    "The fire service was called to a barn blaze on the edge of the village.",
    "A family-run ironmonger celebrated its hundredth year on the high street.",
    "The swimming pool will close for three weeks while the roof is replaced.",
    "Neighbours raised enough money to restore the clock on the church tower.",
    // Culture.
    "The orchestra announced a season of free concerts in the park.",
    "A debut novel about a fishing village won the regional book prize.",
    "The theatre company will tour seven towns this autumn.",
    "Critics praised the gallery's new exhibition of landscape painting.",
    "The film festival will open with a documentary about the old shipyards.",
    "The choir is looking for new tenors ahead of its winter concert.",
};

// Appended to some neutral sentences, as reporters attribute what they write.
constexpr const char* kAttributions[] = {
    "officials said on Tuesday",
    "according to figures released this morning",
    "a spokesperson said",
    "people familiar with the matter said",
    "the organisers said in a statement",
    "local reporters were told",
    "a council report shows",
    "the company said",
};

constexpr const char* kNeutralHeadlines[] = {
    "Council delays vote on harbour parking plan",
    "Heavy rain expected across northern valleys",
    "Home side snatches late win in derby",
    "Retail shares extend gains for third day",
    "Library to open longer over the holidays",
    "Minister defends tax on second homes",
    "Marathon to close old town streets on Sunday",
    "Reservoirs at lowest level in a decade",
    "Food festival draws record crowds to harbour",
    "Opposition calls for inquiry into road contract",
    "Oil climbs as producers hold output steady",
    "Museum reopens east wing after renovation",
    "Tennis champion withdraws with wrist injury",
    "Voters in three districts head back to the polls",
    "Bakery opens on Market Street corner",
    "Orchestra plans free concerts in the park",
};

// One technology topic of the default taxonomy as news mentions it: four sentences (an
// article uses two) and two headlines, each with one or two of the topic's terms.
struct NewsTopic {
  const char* id;
  std::array<const char*, 4> sentences;
  std::array<const char*, 2> headlines;
};

constexpr NewsTopic kNewsTopics[] = {
    {"ai",
     {"The insurer said a machine learning model now sorts incoming claims, and a chatbot "
      "answers the simple ones.",
      "Its new chatbot, built on a large language model, answers questions about bin "
      "collections and parking permits.",
      "A university group trained a neural network on decades of tide records, a deep learning "
      "approach that warns of flooding a day earlier.",
      "Critics asked how the artificial intelligence system had been tested, and whether its "
      "computer vision cameras could misread number plates."},
     {"Council tries artificial intelligence to answer residents' questions",
      "Insurer hands claim sorting to machine learning"}},
    {"embodied_ai",
     {"A parcel depot near the ring road has started trials of a humanoid robot that unloads "
      "vans overnight.",
      "The company says its robotic arms, first built in the robotics lab next door, can already "
      "pick fragile items.",
      "A self-driving shuttle will carry passengers between the station and the hospital, and "
      "the driverless service will be free for a month.",
      "Engineers showed how the quadruped robot finds its way around a crowded warehouse."},
     {"Humanoid robot joins the night shift at parcel depot",
      "Self-driving shuttle to link station and hospital"}},
    {"quantum",
     {"Physicists at the national laboratory said their quantum computer kept each qubit stable "
      "for a record time.",
      "Two banks are testing quantum key distribution, ready for the day a quantum computer can "
      "break today's codes.",
      "The team hopes the entangled photons can be sent over existing fibre lines, keeping the "
      "entanglement intact across the region.",
      "Investors put fresh money into a start-up that sells quantum computing time, priced by "
      "the qubit, to logistics firms."},
     {"Laboratory's quantum computer sets stability record",
      "Banks test quantum links between data centres"}},
    {"6g",
     {"The operator has begun trials of massive MIMO antennas and beamforming on rooftops along "
      "the ring road.",
      "Engineers say millimeter wave links could bring next-generation wireless service into "
      "older buildings.",
      "A university team sent data over a terahertz link between two towers, steered by a "
      "reconfigurable intelligent surface.",
      "Regulators will auction radio access network licences for the northern districts, and "
      "operators must share each base station."},
     {"Operator tests massive MIMO antennas on city rooftops",
      "Terahertz link points to next-generation wireless"}},
    {"bci",
     {"Doctors at the university clinic fitted a volunteer with a brain-computer interface that "
      "reads brain signals and turns imagined handwriting into text.",
      "The implant records brain activity through a small grid of electrodes under the skull, a "
      "method known as electrocorticography.",
      "A second group uses an EEG cap instead, which needs no surgery, and trains volunteers "
      "with motor imagery exercises.",
      "The neurotechnology firm behind the neural interface plans a larger study next year."},
     {"Volunteer writes text with a brain-computer interface",
      "Neurotechnology firm plans larger implant study"}},
    {"biomedicine",
     {"The regional hospital will join a clinical trial of a new vaccine against seasonal flu.",
      "A biotech firm in the science park raised fresh funding for its gene therapy programme.",
      "Researchers said the antibody slowed the growth of the tumor in most of the mice they "
      "studied.",
      "The pharmaceutical group expects a decision on its cancer drug before the end of the "
      "year."},
     {"Hospital joins clinical trial of new flu vaccine",
      "Biotech firm raises funds for gene therapy"}},
    {"blockchain",
     {"The port authority will record shipping papers on a blockchain, a distributed ledger "
      "that every customs office can read.",
      "The price of bitcoin swung sharply overnight, dragging other cryptocurrency holdings with "
      "it.",
      "Two lenders are testing a stablecoin for settling payments, next to a digital currency "
      "trial run by the central bank.",
      "A smart contract now releases the deposit once both sides sign, and the record is kept "
      "on ethereum."},
     {"Port moves shipping papers onto a blockchain",
      "Bitcoin swings drag cryptocurrency holdings lower"}},
    {"nev",
     {"Sales of electric vehicles rose again last month as more drivers traded in older cars "
      "for a plug-in hybrid.",
      "The motorway operator opened four new charging stations for electric cars between the "
      "capital and the coast.",
      "The bus company has ordered forty battery electric buses and will build its own EV "
      "charging depot.",
      "A plug-in hybrid now costs about the same as a petrol car once the grant is counted, and "
      "a new electric car only a little more."},
     {"Electric vehicle sales climb as charging stations spread",
      "Bus company orders battery electric fleet"}},
    {"space",
     {"The national agency said its new weather satellite reached orbit after a smooth launch "
      "on Tuesday.",
      "Amateur astronomers gathered on the hill to watch the comet pass low over the horizon.",
      "The rocket's second stage burned for six minutes before releasing the spacecraft.",
      "A crew of three astronauts will spend six months aboard the space station."},
     {"Weather satellite reaches orbit after smooth launch",
      "Astronomers gather on the hill to watch the comet"}},
    {"semiconductors",
     {"The chipmaker will double the size of its wafer plant on the edge of the industrial "
      "estate.",
      "Car factories are still waiting for the semiconductor and microchip orders they placed "
      "more than a year ago.",
      "The new plant will make transistors for phone makers using an older lithography process.",
      "Analysts expect demand for memory chips and integrated circuits to recover in the second "
      "half."},
     {"Chipmaker to double its wafer plant", "Semiconductor shortage still slows car factories"}},
};

// SplitMix64: a small deterministic generator, so that article n is the same on every run.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

// The dev set's tagger output has 0 / 1 / 2 (/ 3) tags on 40% / 37% / 22% (/ 1%) of its
// articles, 0.84 on average (bench/tagged_stats.py); the news mix plans 39% / 38% / 23%, the
// same average without three-topic articles.
std::vector<size_t> PlanTopics(Random& random) {
  const size_t roll = random.Below(100);
  const size_t count = roll < 39 ? 0 : roll < 77 ? 1 : 2;
  std::vector<size_t> topics;
  if (count == 0) return topics;
  constexpr size_t kTopicCount = std::size(kNewsTopics);
  topics.push_back(random.Below(kTopicCount));
  if (count == 2) topics.push_back((topics[0] + 1 + random.Below(kTopicCount - 1)) % kTopicCount);
  return topics;
}

// Writes article n of the news mix: the headline first, then a body of a given size.
class NewsWriter {
 public:
  explicit NewsWriter(int64_t n)
      : random_(static_cast<uint64_t>(n) * 0x2545f4914f6cdd1dULL + 17),
        topics_(PlanTopics(random_)) {
    // Half of the articles about a topic say so in the headline, as news does.
    if (!topics_.empty() && random_.Below(2) == 0) {
      title_ = kNewsTopics[topics_[0]].headlines[random_.Below(2)];
    } else {
      title_ = kNeutralHeadlines[random_.Below(std::size(kNeutralHeadlines))];
    }
  }

  const std::vector<size_t>& topics() const { return topics_; }
  const std::string& title() const { return title_; }

  // At least `bytes` of prose, and at least the sentences that carry the topics. Call once.
  std::string Body(size_t bytes) {
    // Each topic gets two of its sentences: one in the opening paragraph, one further down.
    std::vector<std::pair<size_t, const char*>> planned;  // (sentence index, sentence)
    for (size_t k = 0; k < topics_.size(); ++k) {
      const NewsTopic& topic = kNewsTopics[topics_[k]];
      const size_t first = random_.Below(topic.sentences.size());
      const size_t second =
          (first + 1 + random_.Below(topic.sentences.size() - 1)) % topic.sentences.size();
      planned.emplace_back(1 + 2 * k, topic.sentences[first]);
      planned.emplace_back(6 + 2 * k, topic.sentences[second]);
    }
    std::sort(planned.begin(), planned.end());
    size_t next_planned = 0;
    size_t paragraph_left = 3 + random_.Below(4);
    std::string body;
    body.reserve(bytes + 200);
    for (size_t index = 0; body.size() < bytes || next_planned < planned.size(); ++index) {
      if (!body.empty()) {
        if (paragraph_left-- == 0) {
          body.append("\n\n");
          paragraph_left = 3 + random_.Below(4);
        } else {
          body.push_back(' ');
        }
      }
      if (next_planned < planned.size() && planned[next_planned].first == index) {
        body.append(planned[next_planned++].second);
      } else {
        AppendNeutralSentence(body);
      }
    }
    return body;
  }

 private:
  void AppendNeutralSentence(std::string& body) {
    absl::string_view sentence = kNeutralSentences[random_.Below(std::size(kNeutralSentences))];
    if (random_.Below(3) == 0) {
      sentence.remove_suffix(1);  // the full stop
      absl::StrAppend(&body, sentence, ", ", kAttributions[random_.Below(std::size(kAttributions))],
                      ".");
    } else {
      body.append(sentence.data(), sentence.size());
    }
  }

  Random random_;
  const std::vector<size_t> topics_;
  std::string title_;
};

}  // namespace

absl::StatusOr<ArticleMix> ParseArticleMix(absl::string_view name) {
  if (name == "news") return ArticleMix::kNews;
  if (name == "dense") return ArticleMix::kDense;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown article mix '", name,
      "': use news (ordinary prose, ~0.84 tags per article) or dense (technology words, ~6 "
      "tags per article)"));
}

std::string ArticleMixName(ArticleMix mix) { return mix == ArticleMix::kNews ? "news" : "dense"; }

std::vector<std::string> NewsTopicsOf(int64_t n) {
  const NewsWriter writer(n);
  std::vector<std::string> ids;
  for (size_t topic : writer.topics()) ids.push_back(kNewsTopics[topic].id);
  return ids;
}

v1::Article MakeSyntheticArticle(const std::string& run_id, int64_t n, size_t bytes,
                                 ArticleMix mix) {
  v1::Article article;
  article.set_id(absl::StrCat(run_id, "-", n));
  article.set_source("bench");
  article.set_language("en");
  if (mix == ArticleMix::kDense) {
    article.set_title(SyntheticText(n * 7919 + 1, 60));
    const size_t overhead = article.ByteSizeLong() + 48;  // + the send-time attribute
    article.set_body(SyntheticText(n, bytes > overhead ? bytes - overhead : 0));
    return article;
  }
  NewsWriter writer(n);
  article.set_title(writer.title());
  const size_t overhead = article.ByteSizeLong() + 48;  // + the send-time attribute
  article.set_body(writer.Body(bytes > overhead ? bytes - overhead : 0));
  return article;
}

}  // namespace topicwire::bench
