// ConfigNode trees from YAML text (config/yaml_tree.h): marks, quoting, merge keys, JSON typing.
#include "config/yaml_tree.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace cutover::config {
namespace {

using ::testing::StartsWith;

NodePtr ParseOk(const std::string& text) {
  Result<NodePtr> root = ParseYamlTree(text, "f.yml");
  EXPECT_TRUE(root.ok()) << root.status().ToString();
  return root.ok() ? *root : nullptr;
}

TEST(YamlTreeTest, KeepsOneBasedMarksForNodesAndKeys) {
  NodePtr root = ParseOk("a: 1\nlist:\n  - x\n  - {k: v}\n");
  const MapEntry* list = root->Find("list");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->key_mark.line, 2);
  EXPECT_EQ(list->key_mark.column, 1);
  ASSERT_EQ(list->value->items.size(), 2u);
  EXPECT_EQ(list->value->items[0]->mark.line, 3);
  EXPECT_EQ(list->value->items[0]->mark.column, 5);
  EXPECT_EQ(list->value->items[1]->path, "list.1");
  EXPECT_EQ(list->value->items[1]->Find("k")->value->path, "list.1.k");
}

TEST(YamlTreeTest, EmptyValuesPointAtTheirKey) {
  NodePtr root = ParseOk("a:\nb: 2\n");
  const MapEntry* a = root->Find("a");
  EXPECT_TRUE(a->value->IsNull());
  EXPECT_EQ(a->value->mark.line, 1);
}

TEST(YamlTreeTest, TypesScalarsLikeJsYaml) {
  NodePtr root = ParseOk(R"(int: 42
neg: -7
hex: 0x1F
float: 2.5
exp: 1e3
yes_word: yes
bool: true
null_word: null
tilde: ~
quoted_int: "42"
single: '3'
text: 5XXError
version: 1.2.3
block: |
  text
tagged: !!str 12
)");
  boost::json::value json = NodeToJson(*root);
  const boost::json::object& o = json.as_object();
  EXPECT_EQ(o.at("int").as_int64(), 42);
  EXPECT_EQ(o.at("neg").as_int64(), -7);
  EXPECT_EQ(o.at("hex").as_int64(), 31);
  EXPECT_EQ(o.at("float").as_double(), 2.5);
  EXPECT_EQ(o.at("exp").as_double(), 1000.0);
  EXPECT_EQ(o.at("yes_word").as_string(), "yes");
  EXPECT_EQ(o.at("bool").as_bool(), true);
  EXPECT_TRUE(o.at("null_word").is_null());
  EXPECT_TRUE(o.at("tilde").is_null());
  EXPECT_EQ(o.at("quoted_int").as_string(), "42");
  EXPECT_EQ(o.at("single").as_string(), "3");
  EXPECT_EQ(o.at("text").as_string(), "5XXError");
  EXPECT_EQ(o.at("version").as_string(), "1.2.3");
  EXPECT_EQ(o.at("block").as_string(), "text\n");
  EXPECT_EQ(o.at("tagged").as_string(), "12");
}

TEST(YamlTreeTest, ExpandsCloudFormationShortForms) {
  NodePtr root = ParseOk(R"(ref: !Ref MyFunction
att: !GetAtt MyFunction.Arn
att_list: !GetAtt [A, B]
sub: !Sub '${AWS::Region}-x'
join: !Join [',', [a, b]]
)");
  boost::json::value json = NodeToJson(*root);
  EXPECT_EQ(json, boost::json::parse(R"({
    "ref": {"Ref": "MyFunction"},
    "att": {"Fn::GetAtt": ["MyFunction", "Arn"]},
    "att_list": {"Fn::GetAtt": ["A", "B"]},
    "sub": {"Fn::Sub": "${AWS::Region}-x"},
    "join": {"Fn::Join": [",", ["a", "b"]]}
  })"));
}

TEST(YamlTreeTest, AppliesMergeKeysWithExplicitKeysWinning) {
  NodePtr root = ParseOk(R"(base: &base
  a: 1
  b: 2
other: &other
  c: 3
derived:
  b: 20
  <<: [*base, *other]
)");
  const ConfigNode& derived = *root->Find("derived")->value;
  ASSERT_EQ(derived.entries.size(), 3u);
  EXPECT_EQ(derived.Find("b")->value->scalar, "20");
  EXPECT_EQ(derived.Find("a")->value->scalar, "1");
  EXPECT_EQ(derived.Find("a")->value->path, "derived.a");
  EXPECT_EQ(derived.Find("c")->value->scalar, "3");
}

TEST(YamlTreeTest, RejectsDuplicateKeysAndComplexKeys) {
  Result<NodePtr> duplicate = ParseYamlTree("a: 1\nb: 2\na: 3\n", "f.yml");
  EXPECT_EQ(duplicate.status().message(), "f.yml:3:1: duplicate key 'a' (first defined at line 1)");
  Result<NodePtr> complex = ParseYamlTree("? [a, b]\n: 1\n", "f.yml");
  EXPECT_THAT(complex.status().message(),
              StartsWith("f.yml:1:3: mapping keys must be plain strings"));
}

TEST(YamlTreeTest, ReportsSyntaxErrorsWithOneBasedLocation) {
  Result<NodePtr> result = ParseYamlTree("a: 1\nb: {c: 1\n", "f.yml");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), StartsWith("f.yml:3:"));
  EXPECT_THAT(result.status().message(), ::testing::HasSubstr("YAML syntax error"));
  Result<NodePtr> indent = ParseYamlTree("a:\n  b: 1\n c: 2\n", "f.yml");
  ASSERT_FALSE(indent.ok());
  EXPECT_THAT(indent.status().message(), StartsWith("f.yml:3:"));
}

TEST(YamlTreeTest, RejectsAliasBombs) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev + ", " + prev +
            ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev + ", " + prev +
            ", " + prev + ", " + prev + "]\n";
  }
  Result<NodePtr> result = ParseYamlTree(text, "f.yml");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), ::testing::HasSubstr("document is too large"));
}

TEST(YamlTreeTest, RejectsNonMappingDocuments) {
  EXPECT_EQ(ParseYamlTree("", "f.yml").status().message(),
            "f.yml:1:1: serverless.yml must be a mapping of keys to values");
  EXPECT_EQ(ParseYamlTree("just text", "f.yml").status().message(),
            "f.yml:1:1: serverless.yml must be a mapping of keys to values");
}

}  // namespace
}  // namespace cutover::config
