// Command scaling-aws is the Pulumi program that provisions one stage of "Design a system
// that scales to millions of users on AWS" and deploys the bundled app onto it.
//
// It reads the stack's typed config once (scaling-aws:stage and the rest, see README.md),
// validates it before registering anything, picks the stage, deploys it and exports the
// outputs (URL, addresses, ids). The offline preview (cmd/preview) runs the same program
// under the Pulumi mock engine.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/scaling-aws/scaling-aws/internal/release"
	"github.com/scaling-aws/scaling-aws/stages"
)

func main() {
	root, err := os.Getwd() // Pulumi runs the program from the project directory.
	if err != nil {
		fmt.Fprintln(os.Stderr, "scaling-aws: cannot read the working directory:", err)
		os.Exit(1)
	}
	pulumi.Run(stages.Program(stages.Options{Release: release.Build(root)}))
}
