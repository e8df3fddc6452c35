// A Go time.Time for templates: confd's {{datetime}} and {{datetime.Format "Jan 2, 2006"}}.
#pragma once

#include <ctime>
#include <string>

#include "template/value.h"

namespace berth::confd {

class GoTime : public tmpl::Object {
 public:
  GoTime(timespec ts, bool utc) : ts_(ts), utc_(utc) {}
  static GoTime Now();
  std::string TypeName() const override { return "time.Time"; }
  // "2006-01-02 15:04:05.999999999 -0700 MST"
  std::string String() const override;
  Result<tmpl::Value> Member(std::string_view name,
                             std::span<const tmpl::Value> args) const override;
  bool IsMethod(std::string_view name) const override;
  // Go's reference-time layouts: 2006 01 02 15 04 05 Jan January Mon Monday MST -0700 .000 ...
  std::string Format(std::string_view layout) const;

 private:
  timespec ts_;
  bool utc_;
};

}  // namespace berth::confd
