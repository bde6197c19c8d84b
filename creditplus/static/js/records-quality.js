// Charts of the data-quality page (数据质量): monthly volume and errors by type. Error types
// are shown by their Chinese label; the stable code is in the tooltip, for support.
document.addEventListener("DOMContentLoaded", function () {
  var source = document.getElementById("quality-data");
  if (!window.echarts || !source) return;
  var data = JSON.parse(source.textContent);
  var names = document.getElementById("quality-series").dataset;
  var volume = echarts.init(document.getElementById("chart-volume"));
  volume.setOption({
    tooltip: {trigger: "axis"}, legend: {},
    xAxis: {type: "category", data: data.volume.map(function (v) { return v.month; })},
    yAxis: {type: "value"},
    series: [
      {name: names.submitted, type: "bar", data: data.volume.map(function (v) { return v.submitted; })},
      {name: names.rejected, type: "bar", color: "#b71c1c", data: data.volume.map(function (v) { return v.rejected; })}
    ]
  });
  var errors = echarts.init(document.getElementById("chart-errors"));
  errors.setOption({
    tooltip: {formatter: function (p) {
      var e = data.errors[p.dataIndex];
      return e.label + "：" + e.count + "<br>" + names.code + " " + e.code;
    }},
    grid: {left: 8, right: 24, containLabel: true},
    xAxis: {type: "value"},
    yAxis: {type: "category", inverse: true, data: data.errors.map(function (e) { return e.label; })},
    series: [{type: "bar", color: "#b71c1c", data: data.errors.map(function (e) { return e.count; })}]
  });
  window.addEventListener("resize", function () { volume.resize(); errors.resize(); });
});
