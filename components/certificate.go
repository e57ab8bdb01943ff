package components

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// CertificateArgs configures a Certificate.
type CertificateArgs struct {
	// Domain is the certificate's main name. Required.
	Domain string
	// AlternativeNames are further names on the certificate (origin.example.com for the
	// load balancer behind CloudFront). Default: none.
	AlternativeNames []string
	// HostedZoneID is the Route 53 zone serving every name, where the DNS validation
	// records go. Required.
	HostedZoneID string
	// Provider issues the certificate in another region (CloudFront only takes
	// certificates from us-east-1). Default: the stack's provider.
	Provider pulumi.ProviderResource
}

// Certificate is a public ACM certificate validated by DNS in a Route 53 zone: the
// certificate, one validation record per name and the validation, whose ARN is what
// listeners and distributions take, so nothing uses the certificate before it is issued.
// ACM renews it on its own while the records stay. Costs nothing.
type Certificate struct {
	pulumi.ResourceState

	// Arn is the certificate's ARN, known once the certificate is issued.
	Arn pulumi.StringOutput
}

// NewCertificate requests and validates a certificate.
func NewCertificate(ctx *pulumi.Context, name string, args *CertificateArgs, opts ...pulumi.ResourceOption) (*Certificate, error) {
	if args == nil || args.Domain == "" || args.HostedZoneID == "" {
		return nil, argError("certificate", name, "Domain/HostedZoneID", args, "give the domain and its hosted zone")
	}
	c := &Certificate{}
	child, err := register(ctx, "dns:Certificate", name, c, opts)
	if err != nil {
		return nil, err
	}
	certOpts := child
	if args.Provider != nil {
		certOpts = with(child, pulumi.Provider(args.Provider))
	}
	cert, err := acm.NewCertificate(ctx, name, &acm.CertificateArgs{
		DomainName:              pulumi.String(args.Domain),
		SubjectAlternativeNames: pulumi.ToStringArray(args.AlternativeNames),
		ValidationMethod:        pulumi.String("DNS"),
		KeyAlgorithm:            pulumi.String("RSA_2048"), // every client and CloudFront accept it
		Tags:                    tags(name),
	}, certOpts...)
	if err != nil {
		return nil, err
	}
	var fqdns pulumi.StringArray
	for i := 0; i < 1+len(args.AlternativeNames); i++ {
		opt := cert.DomainValidationOptions.Index(pulumi.Int(i))
		rec, err := route53.NewRecord(ctx, childName(name, "validation", fmt.Sprint(i)), &route53.RecordArgs{
			ZoneId:         pulumi.String(args.HostedZoneID),
			Name:           opt.ResourceRecordName().Elem(),
			Type:           opt.ResourceRecordType().Elem(),
			Records:        pulumi.StringArray{opt.ResourceRecordValue().Elem()},
			Ttl:            pulumi.Int(300),
			AllowOverwrite: pulumi.Bool(true), // a re-created certificate reuses its record
		}, child...)
		if err != nil {
			return nil, err
		}
		fqdns = append(fqdns, rec.Fqdn)
	}
	v, err := acm.NewCertificateValidation(ctx, name, &acm.CertificateValidationArgs{
		CertificateArn:        cert.Arn,
		ValidationRecordFqdns: fqdns,
	}, certOpts...)
	if err != nil {
		return nil, err
	}
	c.Arn = v.CertificateArn
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"arn": v.CertificateArn})
}
