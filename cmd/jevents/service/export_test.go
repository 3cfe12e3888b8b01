package service

import "net/http"

// Mux is the public listener's registered table, for the route table's
// test to see what each pattern is registered with.
func (s *Service) Mux() *http.ServeMux { return s.mux }
