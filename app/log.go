package app

// LogCauseLogged is the key of a boolean log attribute: true on an ERROR
// record that sums up a failure whose cause was already logged at ERROR
// just before (an HTTP request's line after its "internal error" or
// "panic serving request" record). Error reporting reports the cause and
// skips the summary, so one failure is one report; log readers know to
// look at the line above.
const LogCauseLogged = "cause_logged"
