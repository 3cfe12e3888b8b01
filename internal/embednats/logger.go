package embednats

import (
	"errors"
	"fmt"
	"log/slog"
)

// logger routes the embedded server's log to the service's slog logger:
// warnings and errors at their level, notices (the start-up banner, the
// shutdown) at debug, so that an ordinary start prints the service's own
// lines only. Debug and trace are never switched on (Start). A fatal error
// is logged and handed to Start, which stops waiting: the default
// nats-server logger would exit the whole process instead.
type logger struct {
	log   *slog.Logger
	fatal chan error
}

func newLogger(log *slog.Logger) *logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &logger{log: log.With(slog.String("component", "nats-server")), fatal: make(chan error, 1)}
}

func (l *logger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *logger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *logger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *logger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *logger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }

func (l *logger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg)
	select {
	case l.fatal <- errors.New(msg):
	default: // the first fatal error is the cause; later ones follow from it
	}
}
