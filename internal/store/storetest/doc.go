// Package storetest owns the contract test of store.Store: one suite that
// every implementation (sqlite now, postgres later) runs from its own tests,
// so they all behave the same behind the interface.
//
// Test support only: it is imported from _test.go files, never from the
// gateway. It may import the standard library (testing), internal/store and
// github.com/google/go-cmp.
package storetest
