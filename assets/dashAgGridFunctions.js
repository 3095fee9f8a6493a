// Functions that dash-ag-grid grids reference by name ({"function": "name(params)"}).
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

// CSV export of a grid (csvExportParams.processCellCallback): a text cell that a spreadsheet would run as a
// formula (it starts with =, +, -, @, tab or carriage return) gets a leading single quote, as OWASP recommends;
// the same rule as data/exports.py (FORMULA_PREFIXES). Numbers keep their column's display format, so a
// negative number stays a number. Only the exported file changes, never the table or the stored data.
dagfuncs.neutraliseCsvCell = function (params) {
  var value = params.value;
  if (typeof value !== "string") {
    return params.formatValue ? params.formatValue(value) : value;
  }
  return /^[=+\-@\t\r]/.test(value) ? "'" + value : value;
};
