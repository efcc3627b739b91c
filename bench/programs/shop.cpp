// A ~300-line program for the compile-and-run benchmark: an order book and warehouse
// simulation with classes, inheritance, templates and the usual containers and algorithms.
#include <algorithm>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <queue>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

namespace shop {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  int Between(int low, int high) { return low + static_cast<int>(Next() % (high - low + 1)); }

 private:
  uint64_t state_;
};

struct Product {
  int id;
  std::string name;
  std::string category;
  double price;
  int weight_grams;
};

class Catalog {
 public:
  void Add(Product product) { products_.emplace(product.id, std::move(product)); }
  const Product* Find(int id) const {
    auto it = products_.find(id);
    return it == products_.end() ? nullptr : &it->second;
  }
  std::vector<const Product*> InCategory(const std::string& category) const {
    std::vector<const Product*> found;
    for (const auto& [id, product] : products_) {
      if (product.category == category) found.push_back(&product);
    }
    return found;
  }
  size_t size() const { return products_.size(); }

 private:
  std::map<int, Product> products_;
};

class Warehouse {
 public:
  void Receive(int product, int quantity) { stock_[product] += quantity; }
  bool Take(int product, int quantity) {
    auto it = stock_.find(product);
    if (it == stock_.end() || it->second < quantity) return false;
    it->second -= quantity;
    return true;
  }
  int Stock(int product) const {
    auto it = stock_.find(product);
    return it == stock_.end() ? 0 : it->second;
  }
  long Total() const {
    return std::accumulate(stock_.begin(), stock_.end(), 0L,
                           [](long sum, const auto& entry) { return sum + entry.second; });
  }

 private:
  std::unordered_map<int, int> stock_;
};

struct Line {
  int product;
  int quantity;
};

class Order {
 public:
  Order(int id, std::string customer) : id_(id), customer_(std::move(customer)) {}
  virtual ~Order() = default;
  void Add(Line line) { lines_.push_back(line); }
  int id() const { return id_; }
  const std::string& customer() const { return customer_; }
  const std::vector<Line>& lines() const { return lines_; }
  virtual double Discount(double subtotal) const { return 0; }
  virtual std::string Kind() const { return "standard"; }

 private:
  int id_;
  std::string customer_;
  std::vector<Line> lines_;
};

class ExpressOrder : public Order {
 public:
  using Order::Order;
  std::string Kind() const override { return "express"; }
};

class WholesaleOrder : public Order {
 public:
  using Order::Order;
  double Discount(double subtotal) const override { return subtotal > 500 ? subtotal * 0.1 : 0; }
  std::string Kind() const override { return "wholesale"; }
};

template <typename T>
class Statistics {
 public:
  void Add(T value) { values_.push_back(value); }
  T Sum() const { return std::accumulate(values_.begin(), values_.end(), T{}); }
  double Mean() const { return values_.empty() ? 0 : static_cast<double>(Sum()) / values_.size(); }
  T Median() const {
    if (values_.empty()) return T{};
    std::vector<T> sorted = values_;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
    return sorted[sorted.size() / 2];
  }
  size_t Count() const { return values_.size(); }

 private:
  std::vector<T> values_;
};

struct Invoice {
  int order;
  double subtotal;
  double discount;
  double shipping;
  double total() const { return subtotal - discount + shipping; }
};

class Billing {
 public:
  explicit Billing(const Catalog& catalog) : catalog_(catalog) {}
  std::optional<Invoice> Bill(const Order& order) const {
    double subtotal = 0;
    int grams = 0;
    for (const Line& line : order.lines()) {
      const Product* product = catalog_.Find(line.product);
      if (product == nullptr) return std::nullopt;
      subtotal += product->price * line.quantity;
      grams += product->weight_grams * line.quantity;
    }
    double shipping = order.Kind() == "express" ? 15 + grams / 500.0 : 5 + grams / 1000.0;
    return Invoice{order.id(), subtotal, order.Discount(subtotal), shipping};
  }

 private:
  const Catalog& catalog_;
};

struct PendingOrder {
  int priority;
  int sequence;
  std::shared_ptr<Order> order;
  bool operator<(const PendingOrder& other) const {
    return priority != other.priority ? priority < other.priority : sequence > other.sequence;
  }
};

class Fulfilment {
 public:
  Fulfilment(Warehouse& warehouse, const Billing& billing) : warehouse_(warehouse), billing_(billing) {}
  void Submit(std::shared_ptr<Order> order) {
    int priority = order->Kind() == "express" ? 2 : order->Kind() == "wholesale" ? 1 : 0;
    queue_.push({priority, sequence_++, std::move(order)});
  }
  void Run() {
    while (!queue_.empty()) {
      PendingOrder next = queue_.top();
      queue_.pop();
      bool available = std::all_of(next.order->lines().begin(), next.order->lines().end(),
                                   [&](const Line& l) { return warehouse_.Stock(l.product) >= l.quantity; });
      if (!available) {
        backlog_.insert(next.order->id());
        continue;
      }
      for (const Line& line : next.order->lines()) warehouse_.Take(line.product, line.quantity);
      if (auto invoice = billing_.Bill(*next.order)) {
        revenue_.Add(invoice->total());
        by_customer_[next.order->customer()] += invoice->total();
        by_kind_[next.order->Kind()]++;
      }
    }
  }
  const Statistics<double>& revenue() const { return revenue_; }
  const std::set<int>& backlog() const { return backlog_; }
  const std::map<std::string, double>& by_customer() const { return by_customer_; }
  const std::map<std::string, int>& by_kind() const { return by_kind_; }

 private:
  Warehouse& warehouse_;
  const Billing& billing_;
  std::priority_queue<PendingOrder> queue_;
  int sequence_ = 0;
  Statistics<double> revenue_;
  std::set<int> backlog_;
  std::map<std::string, double> by_customer_;
  std::map<std::string, int> by_kind_;
};

Catalog MakeCatalog(Random& random) {
  static const char* kCategories[] = {"tools", "garden", "kitchen", "toys", "books"};
  Catalog catalog;
  for (int id = 1; id <= 400; ++id) {
    std::ostringstream name;
    name << kCategories[id % 5] << "-item-" << id;
    catalog.Add({id, name.str(), kCategories[id % 5], 1 + random.Between(0, 9999) / 100.0,
                 random.Between(50, 5000)});
  }
  return catalog;
}

std::shared_ptr<Order> MakeOrder(int id, Random& random) {
  static const char* kCustomers[] = {"ada", "grace", "linus", "barbara", "dennis", "ken"};
  std::string customer = kCustomers[random.Between(0, 5)];
  std::shared_ptr<Order> order;
  switch (random.Between(0, 2)) {
    case 0: order = std::make_shared<Order>(id, customer); break;
    case 1: order = std::make_shared<ExpressOrder>(id, customer); break;
    default: order = std::make_shared<WholesaleOrder>(id, customer); break;
  }
  int lines = random.Between(1, 6);
  for (int i = 0; i < lines; ++i) order->Add({random.Between(1, 400), random.Between(1, 12)});
  return order;
}

}  // namespace shop

int main() {
  shop::Random random(2026);
  shop::Catalog catalog = shop::MakeCatalog(random);
  shop::Warehouse warehouse;
  for (int id = 1; id <= 400; ++id) warehouse.Receive(id, random.Between(0, 400));
  shop::Billing billing(catalog);
  shop::Fulfilment fulfilment(warehouse, billing);
  for (int id = 1; id <= 20000; ++id) fulfilment.Submit(shop::MakeOrder(id, random));
  fulfilment.Run();

  std::cout << std::fixed << std::setprecision(2);
  std::cout << "products: " << catalog.size() << ", stock left: " << warehouse.Total() << "\n";
  std::cout << "orders billed: " << fulfilment.revenue().Count()
            << ", backlog: " << fulfilment.backlog().size() << "\n";
  std::cout << "revenue: " << fulfilment.revenue().Sum() << " (mean " << fulfilment.revenue().Mean()
            << ", median " << fulfilment.revenue().Median() << ")\n";
  for (const auto& [kind, count] : fulfilment.by_kind()) std::cout << kind << ": " << count << "\n";
  std::vector<std::pair<std::string, double>> customers(fulfilment.by_customer().begin(),
                                                        fulfilment.by_customer().end());
  std::sort(customers.begin(), customers.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [name, total] : customers) std::cout << name << " " << total << "\n";
  auto tools = catalog.InCategory("tools");
  std::cout << "tools: " << tools.size() << ", first: " << tools.front()->name << "\n";
  return 0;
}
