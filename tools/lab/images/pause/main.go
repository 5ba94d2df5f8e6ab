// The lab cluster's only container image: no registry is reachable from the lab targets, so the
// sandbox ("pause") image and the test pod's image are this one static program, built with the
// local Go toolchain and imported into containerd from an archive (tools/lab/oci_image.py).
//
//	pause                 sleep until SIGTERM/SIGINT, reaping children (the pod sandbox)
//	pause serve ADDR      also answer HTTP on ADDR with the host name (the test pod, hostNetwork)
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "serve" {
		host, _ := os.Hostname()
		http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "govops lab pod on %s\n", host)
		})
		go func() {
			if err := http.ListenAndServe(os.Args[2], nil); err != nil {
				fmt.Fprintln(os.Stderr, "serve:", err)
				os.Exit(1)
			}
		}()
	} else if len(os.Args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: pause [serve ADDR]")
		os.Exit(2)
	}
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var status syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
